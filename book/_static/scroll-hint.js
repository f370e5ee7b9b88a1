// A figure, table, code block or display equation wider than the text column scrolls sideways inside its own
// box (book.css; at 1280 px a few wide tables, at 400 px most figures, code and the longer equations). Mark each
// such box so that book.css can show a hint under it, and change the hint once the reader has scrolled to its end.
(function () {
  var BOXES = [".bd-article div.cell_output", ".bd-article div.cell_output pre", ".bd-article div.highlight pre",
               ".bd-article .pst-scrollable-table-container", ".bd-article mjx-container[display=\"true\"]"].join(", ");
  function mark() {
    document.querySelectorAll(BOXES).forEach(function (box) {
      var wide = box.scrollWidth > box.clientWidth + 2;
      box.classList.toggle("scrolls-sideways", wide);
      if (wide && !box.dataset.hintListener) {
        box.dataset.hintListener = "1";
        box.addEventListener("scroll", function () {
          box.classList.toggle("scrolled-to-end", box.scrollLeft + box.clientWidth >= box.scrollWidth - 2);
        }, { passive: true });
      }
    });
  }
  window.addEventListener("load", function () {
    mark();
    // display equations are typeset after the page has loaded: measure them again once MathJax is done
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(mark);
    }
  });
  window.addEventListener("resize", mark);
})();
