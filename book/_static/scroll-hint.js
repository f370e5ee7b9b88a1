// On a narrow screen a figure or table wider than the text column scrolls sideways inside its output box (book.css). Mark
// such boxes so that book.css can show a hint under them, and drop the mark once the reader has scrolled to the end.
(function () {
  function mark() {
    document.querySelectorAll(".bd-article div.cell_output").forEach(function (box) {
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
  window.addEventListener("load", mark);
  window.addEventListener("resize", mark);
})();
