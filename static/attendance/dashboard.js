// Operators' home dashboard: when an attendance event (or an unknown face, a device going on or off line)
// arrives over /ws/attendance/, fetch the board fragment again (statuses are computed on the server) and swap it
// in. Events within 3 s make one fetch (each fetch recomputes 14 days of statuses, so a busy entrance must not
// cause one per event).
(function () {
  "use strict";
  const root = document.querySelector(".dashboard[data-socket-path]");
  if (!root) return;
  const state = document.getElementById("live-state");
  let retry = 1000;
  let pending = null;

  function refresh() {
    pending = null;
    fetch(root.dataset.boardUrl, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        const board = document.getElementById("board");
        const next = new DOMParser().parseFromString(html, "text/html").getElementById("board");
        if (board && next) board.replaceWith(document.adoptNode(next));
      })
      .catch(() => { state.textContent = "could not refresh"; });
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + root.dataset.socketPath);
    socket.onopen = () => { state.textContent = "connected"; retry = 1000; };
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type !== "attendance" && data.type !== "board") return;
      if (!pending) pending = setTimeout(refresh, 3000);
    };
    socket.onclose = (closed) => {
      if (closed.code === 4401 || closed.code === 4403) {
        state.textContent = "refused: " + (closed.reason || closed.code);
        return;
      }
      state.textContent = "reconnecting…";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  connect();
  setInterval(refresh, 60000);  // statuses also change with the clock (a shift starts, the grace ends)
})();
