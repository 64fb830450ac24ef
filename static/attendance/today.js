// Operators' "attendance today" page: new events arrive over /ws/attendance/ and update both tables.
(function () {
  "use strict";
  const root = document.querySelector(".attendance-today");
  if (!root) return;
  const limit = parseInt(root.dataset.eventLimit, 10) || 100;
  const state = document.getElementById("live-state");
  const summaries = document.querySelector("#today-summaries tbody");
  const events = document.querySelector("#today-events tbody");
  const kinds = { check_in: "check-in", check_out: "check-out", seen: "seen" };
  let retry = 1000;

  function td(text, className) {
    const cell = document.createElement("td");
    cell.textContent = text == null || text === "" ? "" : String(text);
    if (className) cell.className = className;
    return cell;
  }

  function duration(seconds) {
    const minutes = Math.floor((seconds || 0) / 60);
    return Math.floor(minutes / 60) + ":" + String(minutes % 60).padStart(2, "0");
  }

  function dropEmpty(tbody) {
    const empty = tbody.querySelector("tr.empty");
    if (empty) empty.remove();
  }

  function addEvent(e) {
    if (events.querySelector(`tr[data-event-id="${e.id}"]`)) return;
    dropEmpty(events);
    const row = document.createElement("tr");
    row.dataset.eventId = e.id;
    row.className = "kind-" + e.kind + " fresh";
    row.append(td(e.local_time), td(e.person), td(kinds[e.kind] || e.kind, "kind"), td(e.source),
      td(Number(e.score).toFixed(3)), td(e.emotion));
    const evidence = td("");
    if (e.evidence_url) {
      const img = document.createElement("img");
      img.className = "evidence";
      img.src = e.evidence_url;
      img.width = img.height = 48;
      img.alt = "face crop";
      evidence.appendChild(img);
    }
    row.appendChild(evidence);
    events.prepend(row);
    while (events.rows.length > limit) events.deleteRow(-1);
  }

  function updateSummary(e) {
    const s = e.summary;
    if (!s || e.person_id == null) return;
    let row = summaries.querySelector(`tr[data-person-id="${e.person_id}"]`);
    if (!row) {
      dropEmpty(summaries);
      row = document.createElement("tr");
      row.dataset.personId = e.person_id;
      row.append(td(e.person, "person"), td("", "first-in"), td("", "last-out"), td("", "present"),
        td("", "events"), td("", "status"));
      summaries.appendChild(row);
      document.getElementById("people-count").textContent = summaries.querySelectorAll("tr[data-person-id]").length;
    }
    row.querySelector(".first-in").textContent = s.first_in || "–";
    row.querySelector(".last-out").textContent = s.last_out || "–";
    row.querySelector(".present").textContent = duration(s.present_s);
    row.querySelector(".events").textContent = s.events;
    row.querySelector(".status").textContent = s.checked_out ? "out" : "in";
    row.classList.add("fresh");
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + root.dataset.socketPath);
    socket.onopen = () => { state.textContent = "connected"; retry = 1000; };
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type !== "attendance") return;
      if (data.event.day !== root.dataset.day) { location.reload(); return; }  // a new day began
      addEvent(data.event);
      updateSummary(data.event);
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
})();
