"""Private services for fault tests: a Redis server and a TCP proxy in front of PostgreSQL, each
on a port of its own, stopped and started by the test that owns it. The machine's shared
PostgreSQL and Redis are never stopped or reconfigured."""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from django.conf import settings

from config.celery import app as celery_app


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def needs_redis_server():
    """Fault tests with a private Redis run where the suite runs on Redis (CI's second pass)."""
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed"
    elif not (os.environ.get("CACHE_URL") or os.environ.get("CELERY_BROKER_URL")):
        reason = "the suite is not running on Redis (no CACHE_URL or CELERY_BROKER_URL)"
    else:
        return
    if os.environ.get("REQUIRE_WORKER"):
        pytest.fail(f"REQUIRE_WORKER is set but {reason}")
    pytest.skip(f"{reason}; `.ci/run` runs this in its second pass")


class PrivateRedis:
    """`redis-server` on a free port, without persistence; `stop()` makes it unreachable."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def command(self, *words):
        """One command in the inline protocol, for looking at what was queued."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall((" ".join(words) + "\r\n").encode())
            return s.recv(65536).decode()


class TcpProxy:
    """Forwards a port of its own to a target address. `stop()` closes the listener and every
    open connection, as a database restart does; `start()` listens again on the same port."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener = None
        self._sockets = set()
        self._lock = threading.Lock()

    def start(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self):
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            with suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def publishing_to(broker_url):
    """Queue tasks on `broker_url` instead of running them inline, for the length of the block.
    Celery's CELERY_BROKER_URL environment variable outranks its `broker_url` setting, but not
    `broker_write_url`, which publishing uses. Celery keeps its connection pools until a fork;
    dropping them makes the next publish connect to the new address."""
    conf = celery_app.conf
    previous = conf.broker_write_url, conf.task_always_eager

    def drop_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.broker_write_url, conf.task_always_eager = broker_url, False
    drop_pools()
    try:
        yield
    finally:
        conf.broker_write_url, conf.task_always_eager = previous
        drop_pools()


@contextmanager
def celery_worker(database_url, broker_url, *, pool="solo"):
    """A real worker process on the suite's queue; its output is printed when it stops."""
    env = {**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker_url}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            ",".join(queue.name for queue in settings.CELERY_TASK_QUEUES),
        ],  # fmt: skip
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        print(output)


def pool_processes(worker):
    """The process ids of a prefork worker's pool, once it has started them."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
        if children:
            return [int(pid) for pid in children]
        time.sleep(0.1)
    raise RuntimeError("the worker started no pool process")


def wait_for(condition, timeout=90, worker=None):
    """Poll `condition()` until it is true; False if it never was (or the worker exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if worker is not None and worker.poll() is not None:
            return False
        time.sleep(0.25)
    return False
