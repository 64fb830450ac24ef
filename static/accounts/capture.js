// Self-enrollment by webcam: a frame every few hundred ms goes to the server, which keeps it or says why not and
// what to do next; when enough good photos are kept they are enrolled, and the page waits for the result.
// One frame is in flight at a time. Kept photos are previewed from the local copy (nothing is fetched back).
// Liveness first (when the site requires it): the server picks a few head movements; the page shows the current
// one and sends smaller frames more often until the server says the challenge was passed (or starts a new one).
// The frames are the camera's own (unmirrored); only the preview is a mirror, and the server words the steps
// from the person's point of view ("turn your head to your left").
(() => {
  "use strict";
  const config = JSON.parse(document.getElementById("capture-config").textContent);
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const $ = (id) => document.getElementById(id);
  const video = $("video"), overlay = $("overlay"), instructionEl = $("instruction"), statusEl = $("status");
  const countEl = $("count"), wantedEl = $("wanted"), progressEl = $("progress"), whyEl = $("why"), keptEl = $("kept");
  const startBtn = $("start"), finishBtn = $("finish"), restartBtn = $("restart");
  const grab = document.createElement("canvas");
  let stream = null, running = false, finishing = false, timer = null, roundStarted = 0;
  let count = 0, wanted = 0, minimum = 0, lastBox = null, lastKept = false, challenge = null;

  const setStatus = (text) => { statusEl.textContent = text; };
  const instruct = (text) => { instructionEl.textContent = text; };

  async function post(url, body = new URLSearchParams()) {
    const response = await fetch(url, { method: "POST", body, headers: { "X-CSRFToken": csrf }, credentials: "same-origin" });
    let data = {};
    try { data = await response.json(); } catch (err) { /* not JSON: an error page */ }
    if (!response.ok) {
      const error = new Error(data.error || `the server answered ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function showCount() {
    countEl.textContent = count;
    wantedEl.textContent = wanted;
    progressEl.max = wanted;
    progressEl.value = count;
    finishBtn.disabled = !(running && count >= minimum && count > 0);
  }

  function showChallenge(progress) {
    challenge = progress || null;
    if (challenge) setStatus(`Liveness check: move ${challenge.done + 1} of ${challenge.steps.length}`);
  }

  function applyRound(round) {
    count = round.count; wanted = round.wanted; minimum = round.minimum;
    instruct(round.instruction);
    showChallenge(round.liveness);
    keptEl.replaceChildren(Object.assign(document.createElement("span"), { className: "empty", textContent: "none yet" }));
    showCount();
  }

  async function start() {
    startBtn.disabled = true;
    if (!stream) {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, facingMode: "user" }, audio: false });
      } catch (err) {
        setStatus("Camera unavailable (" + err.message + "). Allow the camera for this site and press Start again.");
        startBtn.disabled = false;
        return;
      }
      video.srcObject = stream;
      await video.play();
    }
    await newRound();
  }

  async function newRound() {
    clearTimeout(timer);
    running = false;
    try {
      applyRound(await post(config.urls.start, new URLSearchParams({ mode: config.mode })));
    } catch (err) {
      setStatus("Cannot start: " + err.message);
      startBtn.disabled = false;
      return;
    }
    whyEl.hidden = true;
    startBtn.textContent = challenge ? "Liveness check…" : "Taking photos…";
    running = true; finishing = false;
    restartBtn.disabled = false;
    roundStarted = performance.now();
    setStatus(challenge ? "Liveness check: follow the instruction" : "Taking photos…");
    showCount();
    sendFrame();
  }

  function schedule(sentAt) {
    clearTimeout(timer);
    const interval = challenge ? config.livenessIntervalMs : config.intervalMs;
    timer = setTimeout(sendFrame, Math.max(0, interval - (performance.now() - sentAt)));
  }

  async function sendFrame() {
    if (!running || finishing) return;
    if (!video.videoWidth) { timer = setTimeout(sendFrame, 100); return; }
    const sentAt = performance.now();
    const width = Math.min(challenge ? 480 : 640, video.videoWidth);  // the challenge needs only the keypoints
    const height = Math.round(video.videoHeight * width / video.videoWidth);
    grab.width = width; grab.height = height;
    grab.getContext("2d").drawImage(video, 0, 0, width, height);
    const blob = await new Promise((resolve) => grab.toBlob(resolve, "image/jpeg", 0.92));
    const form = new FormData();
    form.append("frame", blob, "frame.jpg");
    let reply;
    try {
      reply = await post(config.urls.frame, form);
    } catch (err) {
      if (err.status === 409 || err.status === 403) { stopRound("Stopped: " + err.message); return; }
      if (err.status !== 429) setStatus("Problem: " + err.message + " (retrying)");
      schedule(sentAt);
      return;
    }
    if (!running || finishing) return;
    onVerdict(reply, blob);
    if (reply.done) { finish(); return; }
    checkTime(reply);
    schedule(sentAt);
  }

  function onVerdict(reply, blob) {
    count = reply.count; wanted = reply.wanted; minimum = reply.minimum;
    lastBox = reply.box; lastKept = reply.kept;
    instruct(reply.instruction);
    const wasChallenge = !!challenge;
    showChallenge(reply.liveness);
    if (reply.code === "liveness_passed") {
      setStatus("Liveness check passed: now taking photos");
      startBtn.textContent = "Taking photos…";
      roundStarted = performance.now();  // the photo round's time starts now
    } else if (reply.code === "liveness_failed") {
      setStatus("Not passed: " + reply.reason.replace("liveness failed: ", "") + ". A new check begins.");
    } else if (wasChallenge && challenge) {
      // the status line shows the move number (showChallenge)
    } else if (reply.kept) {
      setStatus(`Photo ${count} kept`);
      const img = document.createElement("img");
      img.src = URL.createObjectURL(blob);
      img.alt = `kept photo ${count}`;
      keptEl.querySelector(".empty")?.remove();
      keptEl.append(img);
    } else {
      setStatus("Not kept: " + reply.reason);
    }
    showCount();
    draw();
  }

  function checkTime(reply) {
    if (challenge) return;  // the server times the liveness check
    const elapsed = (performance.now() - roundStarted) / 1000;
    if (elapsed < config.seconds) return;
    if (count >= minimum) { finish(); return; }
    // Too few good photos in this round: say why and keep going (what was kept stays kept).
    const reasons = (reply.why_so_few || []).map((r) => `${r.reason} (${r.count}×)`).join(", ");
    showWhy(`Only ${count} good photo${count === 1 ? "" : "s"} in ${config.seconds} seconds; ${minimum} are needed.` +
            (reasons ? ` Frames were refused because: ${reasons}.` : "") + " Trying again…");
    roundStarted = performance.now();
  }

  function showWhy(text) { whyEl.textContent = text; whyEl.hidden = false; }

  function stopRound(text) {
    running = false; finishing = false;
    clearTimeout(timer);
    startBtn.disabled = false;
    startBtn.textContent = "Start";
    setStatus(text);
    showCount();
  }

  async function finish() {
    if (finishing) return;
    finishing = true; running = false;
    clearTimeout(timer);
    finishBtn.disabled = true; restartBtn.disabled = true;
    lastBox = null; draw();
    instruct("Thank you! Enrolling your photos…");
    setStatus("Enrolling…");
    try {
      await post(config.urls.finish);
    } catch (err) {
      showWhy("Could not enroll the photos: " + err.message);
      stopRound("Stopped. Press Start to take the photos again.");
      return;
    }
    poll();
  }

  async function poll() {
    let reply;
    try {
      reply = await post(config.urls.status);
    } catch (err) {
      setStatus("Waiting for enrollment (" + err.message + ")");
      timer = setTimeout(poll, 2000);
      return;
    }
    if (reply.redirect) {
      setStatus(reply.message);
      instruct("All done!");
      if (stream) stream.getTracks().forEach((t) => t.stop());
      window.location.assign(reply.redirect);
      return;
    }
    if (reply.held) {  // refused as not confirmed to be this person: staff decide, another round won't help
      showWhy(reply.message);
      instruct("Held for review");
      if (stream) stream.getTracks().forEach((t) => t.stop());
      running = false;
      setStatus(reply.message);
      return;
    }
    if (reply.retry) {
      showWhy(reply.message);
      applyRound(reply.retry);
      finishing = false; running = true; restartBtn.disabled = false;
      roundStarted = performance.now();
      setStatus("Taking more photos…");
      sendFrame();
      return;
    }
    setStatus(reply.message);
    timer = setTimeout(poll, 1000);
  }

  function draw() {
    const rect = video.getBoundingClientRect();
    overlay.width = rect.width; overlay.height = rect.height;
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    if (!lastBox) return;
    const [x1, y1, x2, y2] = lastBox;
    ctx.strokeStyle = lastKept ? "#2ecc71" : "#e6a23c";
    ctx.lineWidth = 3;
    ctx.strokeRect(x1 * overlay.width, y1 * overlay.height, (x2 - x1) * overlay.width, (y2 - y1) * overlay.height);
  }

  startBtn.addEventListener("click", start);
  finishBtn.addEventListener("click", finish);
  restartBtn.addEventListener("click", newRound);
  window.addEventListener("resize", draw);
  window.faceCapture = { state: () => ({ count, wanted, minimum, running, finishing, challenge }) };  // for tests
})();
