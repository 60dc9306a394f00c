// The export menu closes like a menu: on a choice, a click elsewhere, or Escape.
for (const menu of document.querySelectorAll("[data-export-menu]")) {
  const close = () => { menu.open = false; };
  menu.addEventListener("click", (event) => {
    if (event.target.closest("a")) setTimeout(close, 0);
  });
  document.addEventListener("click", (event) => {
    if (menu.open && !menu.contains(event.target)) close();
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.open) {
      close();
      menu.querySelector("summary").focus();
    }
  });
}
