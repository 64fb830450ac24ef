// The dataset upload page. A folder picker gives each file a relative path (person_name/image.jpg) in
// webkitRelativePath, but a multipart upload sends only the bare name; so the paths go along, in order, as JSON
// in the hidden "paths" field. The form is sent with XMLHttpRequest to show the transfer's progress; the
// server answers with the batch page to open (or the form's errors). Without this script the form still posts.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form) return;
  const folder = form.querySelector("input[name=folder]");
  const paths = form.querySelector("input[name=paths]");
  const archive = form.querySelector("input[name=archive]");
  const summary = document.getElementById("folder-summary");
  const errors = document.getElementById("upload-errors");
  const submit = document.getElementById("upload-submit");
  const transfer = document.getElementById("transfer");
  const bar = document.getElementById("transfer-bar");
  const text = document.getElementById("transfer-text");

  function describeFolder() {
    const files = Array.from(folder.files);
    const relative = files.map((f) => f.webkitRelativePath || f.name);
    paths.value = JSON.stringify(relative);
    if (!files.length) { summary.textContent = ""; return; }
    const nested = relative.some((p) => p.split("/").length > 2);
    // Names as they will be stored (recognition.uploads.clean_person_name): underscores as spaces, whitespace
    // collapsed, at most 200 characters; folders that become one name are one person.
    const storedName = (raw) => raw.replace(/_/g, " ").split(/\s+/).filter(Boolean).join(" ").slice(0, 200);
    const people = new Set(relative.map((p) => {
      const parts = p.split("/");
      return nested ? (parts.length > 2 ? storedName(parts[parts.length - 2]) : null) : storedName(parts[0]);
    }).filter(Boolean));
    const names = Array.from(people).slice(0, 12).join(", ") + (people.size > 12 ? ", …" : "");
    summary.textContent = files.length + " files, " + people.size + " people: " + names;
  }

  function showErrors(list) {
    errors.replaceChildren();
    for (const message of list) {
      const li = document.createElement("li");
      li.textContent = message;
      errors.appendChild(li);
    }
    errors.hidden = list.length === 0;
  }

  if (folder) {
    folder.addEventListener("change", describeFolder);
    if (folder.files && folder.files.length) describeFolder(); // a page restored by the browser
  }

  form.addEventListener("submit", function (event) {
    if (!window.FormData || !window.XMLHttpRequest) return; // plain post
    event.preventDefault();
    if (folder) describeFolder();
    const hasFolder = folder && folder.files.length > 0;
    const hasArchive = archive && archive.files.length > 0;
    if (!hasFolder && !hasArchive) { showErrors(["Choose a folder or a zip file to upload."]); return; }
    showErrors([]);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      const percent = Math.round((100 * e.loaded) / e.total);
      bar.value = percent;
      text.textContent = percent < 100 ? "Uploading… " + percent + "%" : "Storing the files…";
    });
    xhr.addEventListener("load", function () {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON: an error page */ }
      if (body && body.redirect) { window.location.assign(body.redirect); return; }
      submit.disabled = false;
      transfer.hidden = true;
      if (body && body.errors) showErrors(body.errors);
      else if (xhr.status === 413) showErrors(["The upload is too large for the server."]);
      else showErrors(["The upload failed (HTTP " + xhr.status + ")."]);
    });
    xhr.addEventListener("error", function () {
      submit.disabled = false;
      transfer.hidden = true;
      showErrors(["The upload failed: the connection was lost."]);
    });
    submit.disabled = true;
    transfer.hidden = false;
    bar.value = 0;
    text.textContent = "Uploading…";
    xhr.send(new FormData(form));
  });
})();
