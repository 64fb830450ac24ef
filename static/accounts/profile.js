// While some of your photos are still being enrolled, reload the profile now and then to show the result.
(() => {
  "use strict";
  const list = document.querySelector(".photos");
  if (list && Number(list.dataset.pending) > 0) setTimeout(() => window.location.reload(), 3000);
})();
