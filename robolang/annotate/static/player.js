// robolang annotate, the player: talking to the server, the episodes, the cameras' video and
// the timeline. annotate.js (loaded after this) holds the segment form, the label list and the
// keys. Plain JS, no libraries, nothing from the network.
//
// Frames: a segment is frames [start, end) of an episode, as in the annotation table. Frame f
// of an episode is shown from time from + f / fps of its camera's video file (several episodes
// share a file); the page seeks to the middle of a frame so that rounding never shows the one
// before. Every label is written when it is submitted; the list is re-read after each write
// and every few seconds, so labels from another tab or another annotator appear here too.
"use strict";

const REFRESH_MS = 4000;
const DRAG_PX = 4;  // a press that moves less than this is a click (seek), more is a drag (mark)
const LANE_PX = 14;
const RULER_PX = 22;

const state = {
  data: null,          // /api/dataset
  episode: null,       // the episode shown
  frame: 0,            // the frame shown
  labels: [],          // this episode's labels, all sources
  labelsKey: "",       // to redraw only when the list changed
  counts: {},          // episode -> {source: count}
  start: null,         // the marked segment: [start, end)
  end: null,
  editing: null,       // the label being edited: {id, annotator}
  picked: null,        // the suggestion picked, while the instruction still reads as it does
  showMachine: false,
};

const $ = (id) => document.getElementById(id);
const videos = () => Array.from(document.querySelectorAll("#cameras video"));

// ---- talking to the server -------------------------------------------------------------------
async function api(method, url, body) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  let reply = {};
  try { reply = await response.json(); } catch (e) { reply = {}; }
  if (!response.ok) {
    const error = new Error(reply.error || `the server answered ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return reply;
}

function say(text, kind) {
  const status = $("status");
  status.textContent = text;
  status.className = kind || "";
}

// ---- episodes and video ----------------------------------------------------------------------
async function loadDataset() {
  state.data = await api("GET", "/api/dataset");
  $("dataset-name").textContent = state.data.name;
  $("annotator").textContent = state.data.annotator;
  $("instruction").maxLength = state.data.max_chars;
  const cameras = $("cameras");
  if (!cameras.children.length) {
    for (const key of state.data.cameras) {
      const figure = document.createElement("figure");
      const video = document.createElement("video");
      video.muted = true;
      video.preload = "auto";
      video.dataset.camera = key;
      video.addEventListener("loadedmetadata", () => seek(state.frame));
      video.addEventListener("error", () => say(`cannot play ${key}: this browser may lack AV1 video (Chromium plays it)`, "error"));
      const caption = document.createElement("figcaption");
      caption.textContent = key.replace("observation.images.", "");
      figure.append(video, caption);
      cameras.append(figure);
    }
  }
  renderEpisodes();
}

function episodeByIndex(index) {
  return state.data.episodes.find((e) => e.index === index) || null;
}

function renderEpisodes() {
  const list = $("episode-list");
  list.replaceChildren();
  for (const e of state.data.episodes) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.episode = e.index;
    button.className = state.episode && state.episode.index === e.index ? "active" : "";
    const counts = state.counts[e.index] || {};
    const byHand = counts.human || 0;
    const machine = Object.entries(counts).filter(([s]) => s !== "human").reduce((n, [, c]) => n + c, 0);
    const seconds = (e.length / state.data.fps).toFixed(1);
    button.textContent = `Episode ${e.index} `;
    const detail = document.createElement("small");
    detail.textContent = `${seconds} s · ${byHand} by hand · ${machine} captioned`;
    button.append(detail);
    button.addEventListener("click", () => showEpisode(e.index));
    item.append(button);
    list.append(item);
  }
}

function showEpisode(index) {
  const episode = episodeByIndex(index);
  if (!episode) return;
  state.episode = episode;
  state.frame = 0;
  state.labels = [];
  state.labelsKey = "";
  clearSegment();
  for (const video of videos()) {
    const url = episode.videos[video.dataset.camera].url;
    video.pause();
    if (video.dataset.url !== url) {  // another file; in the same file the page only seeks
      video.dataset.url = url;
      video.src = url;
    }
  }
  seek(0);
  renderEpisodes();
  refreshLabels();
}

function span(video) {
  return state.episode.videos[video.dataset.camera];
}

function seek(frame) {
  if (!state.episode) return;
  state.frame = Math.max(0, Math.min(state.episode.length - 1, Math.round(frame)));
  for (const video of videos()) {
    if (video.readyState >= 1) video.currentTime = span(video).from + (state.frame + 0.5) / state.data.fps;
  }
  draw();
}

function playing() {
  const main = videos()[0];
  return main && !main.paused;
}

function togglePlay() {
  if (!state.episode) return;
  if (playing()) {
    videos().forEach((v) => v.pause());
    seek(state.frame);
  } else {
    if (state.frame >= state.episode.length - 1) seek(0);
    videos().forEach((v) => v.play().catch(() => {}));
  }
}

function tick() {  // follow the playing video: the frame shown, the end of the episode, the other cameras
  const [main, ...others] = videos();
  if (state.episode && main && !main.paused && main.readyState >= 1) {
    const from = span(main).from;
    const frame = Math.floor((main.currentTime - from) * state.data.fps);
    if (frame >= state.episode.length) {
      others.concat([main]).forEach((v) => v.pause());
      seek(state.episode.length - 1);
    } else {
      state.frame = Math.max(0, frame);
      for (const video of others) {
        const want = span(video).from + (main.currentTime - from);
        if (Math.abs(video.currentTime - want) > 0.15) video.currentTime = want;
      }
      draw();
    }
  }
  $("play").textContent = playing() ? "Pause" : "Play";
  requestAnimationFrame(tick);
}

// ---- the timeline ----------------------------------------------------------------------------
function visibleLabels() {
  return state.labels.filter((l) => state.showMachine || l.source === "human");
}

function lanes(labels) {  // greedy: each label in the first lane free at its start
  const ends = [];
  return labels
    .slice()
    .sort((a, b) => a.start_frame - b.start_frame)
    .map((label) => {
      let lane = ends.findIndex((end) => end <= label.start_frame);
      if (lane < 0) { lane = ends.length; ends.push(0); }
      ends[lane] = label.end_frame;
      return { label, lane };
    });
}

function draw() {
  const canvas = $("timeline");
  const placed = lanes(visibleLabels());
  const laneCount = placed.reduce((n, p) => Math.max(n, p.lane + 1), 0);
  const height = RULER_PX + Math.max(2, laneCount) * LANE_PX + 6;
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.height = `${height}px`;
  }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  updateClock();
  if (!state.episode) return;
  const length = state.episode.length;
  const x = (frame) => (frame / length) * width;
  // ruler: a tick each second (or coarser), labelled every few
  const fps = state.data.fps;
  const seconds = length / fps;
  const step = [1, 2, 5, 10, 30, 60, 120, 300].find((s) => (seconds / s) * 40 < width) || 600;
  g.fillStyle = "#50575e";
  g.font = "10px sans-serif";
  for (let s = 0; s <= seconds; s += step) {
    g.fillRect(x(s * fps), 0, 1, 6);
    g.fillText(`${s}s`, x(s * fps) + 2, 15);
  }
  // labels
  for (const { label, lane } of placed) {
    g.fillStyle = label.source === "human" ? "#00a32a" : "#a7aaad";
    if (state.editing && label.id === state.editing.id) g.fillStyle = "#dba617";
    const x0 = x(label.start_frame);
    g.fillRect(x0, RULER_PX + lane * LANE_PX, Math.max(2, x(label.end_frame) - x0), LANE_PX - 3);
  }
  // the marked segment (while only its start is set, it runs to the current frame)
  if (state.start !== null) {
    const end = state.end !== null ? state.end : Math.max(state.start + 1, state.frame + 1);
    g.fillStyle = "rgba(34, 113, 177, 0.25)";
    g.fillRect(x(state.start), 0, x(end) - x(state.start), height);
    g.fillStyle = "#2271b1";
    g.fillRect(x(state.start), 0, 2, height);
    if (state.end !== null) g.fillRect(x(state.end) - 2, 0, 2, height);
  }
  // the playhead
  g.fillStyle = "#d63638";
  g.fillRect(x(state.frame + 0.5) - 1, 0, 2, height);
}

function updateClock() {
  if (!state.episode) { $("clock").textContent = "no episode"; return; }
  const fps = state.data.fps;
  $("clock").textContent =
    `episode ${state.episode.index} · frame ${state.frame} / ${state.episode.length} · ` +
    `${(state.frame / fps).toFixed(1)} s of ${(state.episode.length / fps).toFixed(1)} s`;
}

function frameAt(event) {
  const box = $("timeline").getBoundingClientRect();
  const fraction = Math.max(0, Math.min(1, (event.clientX - box.left) / box.width));
  return Math.min(state.episode.length - 1, Math.floor(fraction * state.episode.length));
}

function setupTimeline() {
  const canvas = $("timeline");
  let press = null;
  canvas.addEventListener("pointerdown", (event) => {
    if (!state.episode) return;
    canvas.setPointerCapture(event.pointerId);
    press = { x: event.clientX, frame: frameAt(event), dragging: false };
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!press) return;
    if (!press.dragging && Math.abs(event.clientX - press.x) < DRAG_PX) return;
    press.dragging = true;
    const frame = frameAt(event);
    setSegment(Math.min(press.frame, frame), Math.max(press.frame, frame) + 1, false);
  });
  canvas.addEventListener("pointerup", (event) => {
    if (!press) return;
    if (press.dragging) suggest();
    else seek(frameAt(event));
    press = null;
  });
  window.addEventListener("resize", draw);
}
