// Reporting deadlines are shown in the reader's time zone: tell the server the browser's,
// and show the page again once if it was drawn in another.
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone) return;
  var current = (document.cookie.match(/(?:^|; )tz=([^;]*)/) || [])[1];
  if (current && decodeURIComponent(current) === zone) return;
  document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
  var shown = document.querySelector("[data-reader-tz][data-tz-reload]");
  var stored = (document.cookie.match(/(?:^|; )tz=([^;]*)/) || [])[1];
  if (shown && stored && shown.dataset.readerTz !== zone) window.location.reload();
})();
