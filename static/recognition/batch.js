// A batch's page: poll its progress (JSON) every second until it has finished, then show what was rejected.
(function () {
  "use strict";
  const root = document.querySelector(".batch-page");
  if (!root) return;
  const url = root.dataset.progressUrl;
  const $ = (id) => document.getElementById(id);

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function fill(tbody, rows, columns, makeRow) {
    tbody.replaceChildren();
    if (!rows.length) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = cell("none");
      td.colSpan = columns;
      tr.appendChild(td);
      tbody.appendChild(tr);
      return;
    }
    for (const row of rows) tbody.appendChild(makeRow(row));
  }

  function render(p) {
    $("batch-state").textContent = p.state;
    $("batch-bar").value = p.percent;
    $("batch-percent").textContent = p.percent + "%";
    for (const key of ["total", "enrolled", "rejected", "pending", "duplicates"]) {
      $("count-" + key).textContent = p[key];
    }
    $("count-refused").textContent = p.errors.length;
    $("batch-waiting").hidden = p.finished;
    fill($("rejected-images").tBodies[0], p.rejected_images, 4, function (r) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      const a = document.createElement("a");
      a.href = r.url;
      const img = document.createElement("img");
      img.className = "face-thumb";
      img.src = r.thumbnail;
      img.width = img.height = 48;
      img.alt = "";
      a.appendChild(img);
      td.appendChild(a);
      tr.append(td, cell(r.person), cell(r.file), cell(r.reason));
      return tr;
    });
    fill($("identity-conflicts").tBodies[0], p.conflicts, 7, function (c) {
      const tr = document.createElement("tr");
      tr.className = "conflict";
      const td = document.createElement("td");
      const a = document.createElement("a");
      a.href = c.url;
      a.textContent = "#" + c.id;
      td.appendChild(a);
      const like = c.kind === "matches_other" ? (c.other || "(gone)") : "unlike their own photos";
      const what = c.refused ? "refused (a member's own enrollment)" : "enrolled, flagged for review";
      tr.append(td, cell(c.person || "(gone)"), cell(like), cell(c.score), cell(c.images), cell(what),
                cell(c.resolution));
      return tr;
    });
    fill($("refused-files").tBodies[0], p.errors, 2, function (e) {
      const tr = document.createElement("tr");
      tr.append(cell(e.file || "(the whole upload)"), cell(e.error));
      return tr;
    });
  }

  async function poll() {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        const progress = await response.json();
        render(progress);
        if (progress.finished) return;
      }
    } catch (_) { /* a dropped connection: try again */ }
    setTimeout(poll, 1000);
  }

  if (root.dataset.finished !== "1") setTimeout(poll, 1000);
})();
