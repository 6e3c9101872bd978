"""Reading what someone else wrote (uploads, dataset files, API bodies) within fixed bounds.

Text that is not UTF-8 is refused with the line and column where decoding failed; JSON may
nest only so deep; a zip archive is unpacked in chunks, refused when it holds more than the
site allows or expands suspiciously; a free-text field holds at most MAX_FIELD_CHARS. Each
refusal is an `Unreadable` with a message a person can act on.
"""

import codecs
import json
import zipfile
from pathlib import Path

# Large enough for real narratives, small enough that a runaway field is reported, not loaded.
MAX_FIELD_CHARS = 100_000
# OTLP traces nest about a dozen levels, datasets and API bodies fewer; a parser's recursion
# limit is far deeper, so the limit is checked here, not left to a RecursionError.
MAX_JSON_DEPTH = 64
TOO_DEEP = f"JSON nested more than {MAX_JSON_DEPTH} levels deep is not accepted"
# A small file may compress very well and still be harmless; the ratio is judged above this.
RATIO_JUDGED_ABOVE = 1024 * 1024
CHUNK = 1024 * 1024


class Unreadable(ValueError):
    """Input refused: the problem, and where it is when that is known (from 1)."""

    def __init__(self, problem, line=None, column=None):
        self.problem, self.line, self.column = problem, line, column
        super().__init__(f"line {line}, column {column}: {problem}" if line else problem)


def size(count):
    """A byte count for people: 48.2 MB, 2 MB, 512 KB."""
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):,.1f}".removesuffix(".0") + " MB"
    return f"{count / 1024:,.0f} KB"


def field_limit(model, name):
    """The most characters a model's text field takes: its max_length, or MAX_FIELD_CHARS."""
    return model._meta.get_field(name).max_length or MAX_FIELD_CHARS


def decode(data):
    """UTF-8 text, without its byte-order mark if it has one. Bytes that are not UTF-8 (a
    file saved as Latin-1 or Windows-1252, say) are refused naming their line and column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # The codec counts from after the byte-order mark.
        at = error.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
        # Lines end as text files' do: \n, \r\n, or a lone \r (as the csv module reads them).
        ends = data.count(b"\n", 0, at) + data.count(b"\r", 0, at) - data.count(b"\r\n", 0, at)
        line_start = max(data.rfind(b"\n", 0, at), data.rfind(b"\r", 0, at)) + 1
        column = len(data[line_start:at].decode("utf-8", "replace")) + 1
        raise Unreadable(
            f"byte {at + 1:,} (0x{data[at]:02x}) cannot be read; save the file as UTF-8",
            ends + 1,
            column,
        ) from None


def load_json(text):
    """json.loads, refusing documents nested deeper than MAX_JSON_DEPTH. A syntax error is
    left as the JSONDecodeError it is, for the caller to place in its file."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise Unreadable(TOO_DEEP) from None
    check_depth(value)
    return value


def check_depth(value):
    """Refuses a parsed JSON value whose objects and lists nest deeper than MAX_JSON_DEPTH."""
    pending = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        container, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise Unreadable(TOO_DEEP)
        children = container.values() if isinstance(container, dict) else container
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def unstorable_text(value):
    """What makes a parsed JSON value unstorable, or None: a NUL character or a lone UTF-16
    surrogate in any key or string (no stored text holds either, and PostgreSQL refuses
    both)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "Null characters are not allowed"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "Text must be valid Unicode (a lone surrogate was sent)"
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def unzip(archive_file, folder, *, max_bytes, max_ratio):
    """Writes the files of a zip archive into `folder` under their own names (their folders
    inside the archive dropped), reading each in chunks, and returns how many bytes it wrote.

    Refused before anything is written: an archive whose files add up to more than
    `max_bytes`, or a file more than 1 MB that is over `max_ratio` times its compressed size
    (a zip bomb). What is written is counted too, so an archive that understates its sizes
    still cannot unpack more than `max_bytes` (zipfile also stops each file at its stated
    size, and then refuses it for its checksum)."""
    try:
        with zipfile.ZipFile(archive_file) as archive:
            members = [
                member
                for member in archive.infolist()
                if not member.is_dir() and Path(member.filename).name
            ]
            declared = sum(member.file_size for member in members)
            if declared > max_bytes:
                raise Unreadable(_too_large(size(declared), max_bytes))
            for member in members:
                _check_ratio(member.filename, member.file_size, member.compress_size, max_ratio)
            written = 0
            for member in members:
                target = folder / Path(member.filename).name
                with archive.open(member) as source, target.open("wb") as output:
                    while chunk := source.read(CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            raise Unreadable(_too_large(f"over {size(written)}", max_bytes))
                        output.write(chunk)
    except zipfile.BadZipFile as error:
        raise Unreadable(f"not a readable zip file ({error})") from None
    except NotImplementedError as error:  # a compression method zipfile does not read
        raise Unreadable(f"the zip file uses what this site cannot unpack ({error})") from None
    except RuntimeError as error:  # an encrypted member
        raise Unreadable(f"the zip file cannot be unpacked ({error})") from None
    return written


def _check_ratio(name, unpacked, packed, max_ratio):
    if unpacked > RATIO_JUDGED_ABOVE and unpacked > max_ratio * max(packed, 1):
        raise Unreadable(
            f"{Path(name).name} would expand from {size(packed)} to {size(unpacked)}, more than "
            f"{max_ratio} times its size in the archive: refused as a possible zip bomb "
            "(MAX_COMPRESSION_RATIO)"
        )


def _too_large(unpacked, limit):
    return (
        f"the zip file unpacks to {unpacked}, more than the {size(limit)} the site unpacks "
        "(MAX_UNPACKED_BYTES)"
    )
