/* Admin forms: dates can be pasted as people write them.
 *
 * <input type="date"> lets people type a date in their own order and pick one from a
 * calendar, but browsers drop anything pasted into it. This reads the pasted text
 * ("12/08/2026", "2026-12-08", "8 Dec 2026") in the reader's own day/month order. */
(function () {
  "use strict";

  function monthFirst() {
    var parts = new Intl.DateTimeFormat(undefined).formatToParts(new Date(2026, 11, 8));
    var order = parts.map(function (p) { return p.type; });
    return order.indexOf("month") < order.indexOf("day");
  }

  function iso(year, month, day) {
    if (year < 100) { year += 2000; }
    var d = new Date(year, month - 1, day);
    if (d.getFullYear() !== year || d.getMonth() !== month - 1 || d.getDate() !== day) {
      return null;
    }
    function pad(n) { return (n < 10 ? "0" : "") + n; }
    return String(year).padStart(4, "0") + "-" + pad(month) + "-" + pad(day);
  }

  function parse(text) {
    text = text.trim();
    var m = text.match(/^(\d{4})[-\/.](\d{1,2})[-\/.](\d{1,2})$/);
    if (m) { return iso(+m[1], +m[2], +m[3]); }
    m = text.match(/^(\d{1,2})[-\/.](\d{1,2})[-\/.](\d{2}|\d{4})$/);
    if (m) {
      return monthFirst() ? iso(+m[3], +m[1], +m[2]) : iso(+m[3], +m[2], +m[1]);
    }
    var t = Date.parse(text);
    if (!isNaN(t)) {
      var d = new Date(t);
      return iso(d.getFullYear(), d.getMonth() + 1, d.getDate());
    }
    return null;
  }

  document.addEventListener("paste", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[data-date-input]")) { return; }
    var value = parse((event.clipboardData || window.clipboardData).getData("text"));
    if (!value) { return; }
    event.preventDefault();
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();

/* Searchable lists (Select2 4.0 with jQuery 3.6) open without focusing their search box, so
 * what a person types right after opening one went nowhere. */
if (window.jQuery) {
  window.jQuery(document).on("select2:open", function () {
    var boxes = document.querySelectorAll(".select2-container--open .select2-search__field");
    if (boxes.length) { boxes[boxes.length - 1].focus(); }
  });
}
