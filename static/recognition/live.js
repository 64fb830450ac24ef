// Live recognition: camera -> canvas -> JPEG -> websocket; boxes, names and emotions drawn from the replies.
// One frame is in flight at a time (the next is sent when the reply arrives), so nothing queues without bound;
// the JPEG's width and quality follow the measured round trip.
(() => {
  "use strict";
  const video = document.getElementById("video");
  const overlay = document.getElementById("overlay");
  const statusEl = document.getElementById("status");
  const readout = document.getElementById("readout");
  const seenList = document.getElementById("seen");
  const startBtn = document.getElementById("start");
  const stopBtn = document.getElementById("stop");
  const showBoxes = document.getElementById("show-boxes");
  const showEmotion = document.getElementById("show-emotion");
  const capture = document.createElement("canvas");
  const WIDTHS = [320, 480, 640];
  const MIN_INTERVAL_MS = 33;  // at most ~30 frames a second, whatever the server could take
  let widthIndex = 2, quality = 0.7;
  let socket = null, stream = null, frameId = 0, inFlight = null, lastTracks = [], sentSize = [640, 360];
  let replies = [], reconnectTimer = null, running = false, lastSent = 0;

  function setStatus(text) { statusEl.textContent = text; }

  async function start() {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    } catch (err) {
      setStatus("Camera unavailable: " + err.message);
      return;
    }
    video.srcObject = stream;
    await video.play();
    running = true;
    startBtn.disabled = true;
    stopBtn.disabled = false;
    connect();
  }

  function stop() {
    running = false;
    if (socket) socket.close(1000, "stopped");
    if (stream) stream.getTracks().forEach((t) => t.stop());
    socket = stream = null;
    clearTimeout(reconnectTimer);
    startBtn.disabled = false;
    stopBtn.disabled = true;
    lastTracks = [];
    draw();
    setStatus("Camera off");
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/live/`);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => { setStatus("Recognising"); inFlight = null; sendFrame(); };
    socket.onmessage = (event) => onReply(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (!running) return;
      if (event.code >= 4400 && event.code < 4500) { setStatus("Stopped by the server: " + (event.reason || event.code)); stop(); return; }
      setStatus("Connection lost; reconnecting…");  // e.g. the server restarted
      reconnectTimer = setTimeout(connect, 1000);
    };
  }

  function sendFrame() {
    if (!running || !socket || socket.readyState !== WebSocket.OPEN || inFlight) return;
    if (!video.videoWidth) { setTimeout(sendFrame, 50); return; }
    const wait = lastSent + MIN_INTERVAL_MS - performance.now();
    if (wait > 0) { setTimeout(sendFrame, wait); return; }
    lastSent = performance.now();
    const width = Math.min(WIDTHS[widthIndex], video.videoWidth);
    const height = Math.round(video.videoHeight * width / video.videoWidth);
    capture.width = width; capture.height = height;
    capture.getContext("2d").drawImage(video, 0, 0, width, height);
    capture.toBlob(async (blob) => {
      if (!blob || !socket || socket.readyState !== WebSocket.OPEN) return;
      const jpeg = new Uint8Array(await blob.arrayBuffer());
      const message = new Uint8Array(4 + jpeg.length);
      frameId = (frameId + 1) >>> 0;
      new DataView(message.buffer).setUint32(0, frameId);
      message.set(jpeg, 4);
      inFlight = { id: frameId, sent: performance.now(), size: [width, height] };
      socket.send(message);
      setTimeout(() => { if (inFlight && inFlight.id === frameId) { inFlight = null; sendFrame(); } }, 2000);
    }, "image/jpeg", quality);
  }

  function adapt(rtt) {
    if (rtt > 150 && widthIndex > 0) widthIndex -= 1;
    else if (rtt > 150) quality = Math.max(0.4, quality - 0.1);
    else if (rtt < 60 && quality < 0.7) quality = Math.min(0.7, quality + 0.1);
    else if (rtt < 60 && widthIndex < WIDTHS.length - 1) widthIndex += 1;
  }

  function onReply(reply) {
    if (reply.type !== "frame") return;
    const now = performance.now();
    if (inFlight && reply.frame_id === inFlight.id) {
      const rtt = now - inFlight.sent;
      sentSize = inFlight.size;
      replies.push(now);
      replies = replies.filter((t) => now - t < 2000);
      readout.textContent = `${(replies.length / 2).toFixed(1)} fps · ${rtt.toFixed(0)} ms round trip · ` +
        `${reply.ms} ms server · ${sentSize[0]}px`;
      adapt(rtt);
      inFlight = null;
    }
    lastTracks = reply.tracks;
    updateSeen(reply.seen || []);
    draw();
    sendFrame();
  }

  function updateSeen(seen) {
    if (!seen.length) return;
    seenList.replaceChildren(...seen.map((p) => {
      const li = document.createElement("li");
      li.textContent = p.name;  // textContent: names are never parsed as HTML
      return li;
    }));
  }

  function draw() {
    const rect = video.getBoundingClientRect();
    overlay.width = rect.width; overlay.height = rect.height;
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    if (!showBoxes.checked) return;
    const sx = overlay.width / sentSize[0], sy = overlay.height / sentSize[1];
    ctx.font = "15px system-ui, sans-serif";
    for (const t of lastTracks) {
      const [x1, y1, x2, y2] = t.box;
      const known = t.person_id !== null;
      ctx.strokeStyle = known ? "#2ecc71" : "#e67e22";
      ctx.lineWidth = 2;
      ctx.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
      let label = t.name ? (known ? `${t.name} ${t.score.toFixed(2)}` : t.name) : "…";
      if (showEmotion.checked && t.emotion) label += ` · ${t.emotion}`;
      const w = ctx.measureText(label).width + 8;
      const lx = Math.max(0, Math.min(x1 * sx, overlay.width - w)), ly = Math.max(20, y1 * sy);
      ctx.fillStyle = "rgba(0,0,0,.65)";
      ctx.fillRect(lx, ly - 20, w, 20);
      ctx.fillStyle = "#fff";
      ctx.fillText(label, lx + 4, ly - 5);
    }
  }

  showBoxes.addEventListener("change", draw);
  showEmotion.addEventListener("change", draw);
  startBtn.addEventListener("click", start);
  stopBtn.addEventListener("click", stop);
  window.addEventListener("beforeunload", () => { running = false; if (socket) socket.close(1000); });
  window.faceLive = { start, stop, tracks: () => lastTracks };  // for tests and kiosks that autostart
})();
