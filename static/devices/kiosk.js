// The kiosk: the tablet's camera -> /ws/kiosk/ (the live protocol: 4-byte frame id + JPEG, one frame in flight),
// and big feedback: "Welcome, Ada – checked in 08:57" or "Not recognised". No controls; it starts by itself and
// reconnects by itself (a restarted server, a dropped network). A revoked kiosk (4401) goes back to pairing.
// A kiosk that requires liveness asks the recognised person to turn their head first ("Ada, turn your head to
// your left, then back"); the check-in comes only when they have.
(() => {
  "use strict";
  const video = document.getElementById("video");
  const messageEl = document.getElementById("message");
  const connectionEl = document.getElementById("connection");
  const capture = document.createElement("canvas");
  const WIDTH = 640, QUALITY = 0.7, MIN_INTERVAL_MS = 66;  // ~15 frames a second at most
  const HOLD_MS = 4000;  // how long a welcome stays up
  const UNKNOWN_AFTER_MS = 1500;  // a face nobody is named for this long is "not recognised"
  const KIND_WORDS = { check_in: "checked in", check_out: "checked out", seen: "seen" };
  // why a liveness challenge failed (recognition.domain.liveness.Reason codes), in the person's words
  const FAILED_WORDS = {
    several_faces: "one person at a time, please", timeout: "that took too long", no_face: "we lost your face",
    face_lost: "we lost your face", wrong_order: "that was another move", no_frontal_start: "face the camera first",
  };
  let socket = null, frameId = 0, inFlight = null, lastSent = 0, retryMs = 1000;
  let tracks = [], shown = [], holdUntil = 0, unknownSince = null, replies = 0, challenge = null;

  function show(text, style, hold) {
    messageEl.textContent = text;  // textContent: names are never parsed as HTML
    messageEl.className = `message ${style}`;
    shown.push({ text, style, at: Date.now() });
    shown = shown.slice(-50);
    if (hold) holdUntil = Date.now() + HOLD_MS;
  }

  async function start() {
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 }, audio: false });
      await video.play();
    } catch (err) {
      show("Camera unavailable – please ask the front desk", "unknown", false);
      setTimeout(start, 5000);
      return;
    }
    connect();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/kiosk/`);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => { connectionEl.textContent = ""; retryMs = 1000; inFlight = null; sendFrame(); };
    socket.onmessage = (event) => onReply(JSON.parse(event.data));
    socket.onclose = (event) => {
      socket = null;
      if (event.code === 4401) {  // revoked or never paired: back to the pairing page
        show("This kiosk is not paired", "unknown", false);
        setTimeout(() => location.reload(), 3000);
        return;
      }
      connectionEl.textContent = "reconnecting…";
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    };
  }

  function sendFrame() {
    if (!socket || socket.readyState !== WebSocket.OPEN || inFlight) return;
    if (!video.videoWidth) { setTimeout(sendFrame, 50); return; }
    const wait = lastSent + MIN_INTERVAL_MS - performance.now();
    if (wait > 0) { setTimeout(sendFrame, wait); return; }
    lastSent = performance.now();
    const width = Math.min(WIDTH, video.videoWidth);
    capture.width = width;
    capture.height = Math.round(video.videoHeight * width / video.videoWidth);
    capture.getContext("2d").drawImage(video, 0, 0, capture.width, capture.height);
    capture.toBlob(async (blob) => {
      if (!blob || !socket || socket.readyState !== WebSocket.OPEN) return;
      const jpeg = new Uint8Array(await blob.arrayBuffer());
      const message = new Uint8Array(4 + jpeg.length);
      frameId = (frameId + 1) >>> 0;
      new DataView(message.buffer).setUint32(0, frameId);
      message.set(jpeg, 4);
      const id = frameId;
      inFlight = id;
      socket.send(message);
      setTimeout(() => { if (inFlight === id) { inFlight = null; sendFrame(); } }, 3000);
    }, "image/jpeg", QUALITY);
  }

  function onReply(reply) {
    if (reply.type !== "frame") return;
    replies += 1;
    if (reply.frame_id === inFlight) inFlight = null;
    tracks = reply.tracks || [];
    const gate = reply.liveness;
    challenge = gate && gate.state === "challenge" ? gate : null;
    if (gate && gate.state === "failed") {
      const why = FAILED_WORDS[gate.reason] || "that did not work";
      show(`Sorry${gate.name ? ", " + gate.name : ""} – ${why}. Please look at the camera and try again`, "unknown", true);
    }
    for (const c of reply.checkins || []) {
      show(`Welcome, ${c.name} – ${KIND_WORDS[c.kind] || c.kind} ${c.local_time}`, "welcome", true);
    }
    feedback();
    sendFrame();
  }

  function feedback() {
    const now = Date.now();
    const named = tracks.filter((t) => t.confirmed && t.person_id !== null);
    const strangers = tracks.filter((t) => t.confirmed && t.person_id === null && t.name === "unknown");
    unknownSince = strangers.length && !named.length ? (unknownSince || now) : null;
    if (now < holdUntil) return;
    if (challenge) show(`${challenge.name}: ${challenge.instruction} (${challenge.steps_done + 1} of ${challenge.steps})`, "challenge", false);
    else if (named.length) show(`Welcome, ${named[0].name}`, "welcome", false);
    else if (unknownSince && now - unknownSince >= UNKNOWN_AFTER_MS) show("Not recognised – please ask the front desk", "unknown", false);
    else if (!tracks.length) show("Look at the camera", "idle", false);
  }

  // Full screen needs a gesture in most browsers: the first tap anywhere asks for it, and keeps the screen on.
  document.addEventListener("click", () => {
    if (!document.fullscreenElement && document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(() => {});
    if (navigator.wakeLock) navigator.wakeLock.request("screen").catch(() => {});
  });
  window.faceKiosk = { tracks: () => tracks, shown: () => shown.map((s) => s.text), replies: () => replies };  // tests
  start();
})();
