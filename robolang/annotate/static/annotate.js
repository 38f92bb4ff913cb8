// robolang annotate, the labelling: the marked segment and its instruction, the captioner's
// suggestions, the label list, the keys, and the start. Uses player.js (loaded before it).
"use strict";

// ---- the segment and its instruction ---------------------------------------------------------
function setSegment(start, end, ask = true) {
  state.start = start;
  state.end = end;
  $("start").value = start === null ? "" : start;
  $("end").value = end === null ? "" : end;
  const info = start !== null && end !== null
    ? `${end - start} frames, ${((end - start) / state.data.fps).toFixed(1)} s` : "";
  $("span-info").textContent = info;
  draw();
  if (ask) suggest();
}

function clearSegment() {
  state.editing = null;
  state.picked = null;
  setSegment(null, null, false);
  $("mode").textContent = "";
  $("suggestion-list").replaceChildren();
  $("suggestion-note").textContent = "Mark a segment to see the captioner's suggestions.";
  renderLabels();
}

function markStart() {
  const end = state.end !== null && state.end > state.frame ? state.end : null;
  setSegment(state.frame, end, end !== null);
}

function markEnd() {
  if (state.start === null || state.start > state.frame) {
    say("press [ (start here) first, at or before this frame", "error");
    return;
  }
  setSegment(state.start, state.frame + 1);
}

let suggestTimer = null;
function suggest() {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(fetchSuggestions, 200);
}

async function fetchSuggestions() {
  const list = $("suggestion-list");
  const note = $("suggestion-note");
  if (!state.episode || state.start === null || state.end === null || state.start >= state.end) return;
  const asked = `${state.episode.index}:${state.start}:${state.end}`;
  note.textContent = "asking the captioner…";
  let reply;
  try {
    reply = await api("GET", `/api/suggestions?episode=${state.episode.index}&start=${state.start}&end=${state.end}`);
  } catch (error) {
    note.textContent = `no suggestions: ${error.message}`;
    return;
  }
  if (asked !== `${state.episode.index}:${state.start}:${state.end}`) return;  // the segment moved meanwhile
  note.textContent = reply.note || "Suggestions (click to use):";
  list.replaceChildren();
  for (const suggestion of reply.suggestions) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "suggestion";
    button.textContent = suggestion.instruction;
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = suggestion.split === "train" ? suggestion.task_id : `${suggestion.task_id}, ${suggestion.split}`;
    button.append(tag);
    button.addEventListener("click", () => {
      $("instruction").value = suggestion.instruction;
      state.picked = suggestion;
      $("instruction").focus();
    });
    item.append(button);
    list.append(item);
  }
}

async function save(event) {
  event.preventDefault();
  if (!state.episode) return;
  const instruction = $("instruction").value;
  const picked = state.picked && state.picked.instruction === instruction ? state.picked : null;
  const body = {
    episode: state.episode.index,
    start: parseInt($("start").value, 10),
    end: parseInt($("end").value, 10),
    instruction,
    task_id: picked ? picked.task_id : "",
    args: picked ? picked.args : "",
    split: picked ? picked.split : "train",
  };
  if (Number.isNaN(body.start) || Number.isNaN(body.end)) {
    say("mark a segment first: [ and ] at the current frame, or drag on the timeline", "error");
    return;
  }
  const editing = state.editing;
  try {
    if (editing) await api("PUT", `/api/labels/${editing.id}`, body);
    else await api("POST", "/api/labels", body);
    say(`${editing ? "changed" : "saved"}: “${instruction.trim()}” (frames ${body.start}–${body.end})`, "ok");
    $("instruction").value = "";
    clearSegment();
  } catch (error) {
    say(error.message, "error");  // the text stays in the box, to fix and save again
    if (error.status === 409) {
      state.editing = null;
      $("mode").textContent = "";
    }
    if (/episode/.test(error.message)) await loadDataset();
  }
  await refreshLabels();
}

// ---- the label list --------------------------------------------------------------------------
async function refreshLabels() {
  if (!state.episode) return;
  const episode = state.episode.index;
  let reply;
  try {
    reply = await api("GET", `/api/labels?episode=${episode}`);
  } catch (error) {
    say(`cannot read the labels: ${error.message}`, "error");
    return;
  }
  if (!state.episode || state.episode.index !== episode) return;  // another episode is shown by now
  const key = JSON.stringify([reply.labels.map((l) => l.id), reply.counts]);
  if (key === state.labelsKey) return;
  state.labelsKey = key;
  state.labels = reply.labels;
  state.counts = reply.counts;
  if (state.editing && !state.labels.some((l) => l.id === state.editing.id)) {
    say("the label you are editing was changed or deleted elsewhere; saving will say so", "error");
  }
  renderEpisodes();
  renderLabels();
}

function renderLabels() {
  const body = document.querySelector("#labels tbody");
  body.replaceChildren();
  const shown = visibleLabels().slice().sort((a, b) => a.start_frame - b.start_frame || a.end_frame - b.end_frame);
  for (const label of shown) {
    const row = document.createElement("tr");
    row.dataset.id = label.id;
    row.className = label.source === "human" ? "human" : "machine";
    if (state.editing && state.editing.id === label.id) row.classList.add("editing");
    const frames = document.createElement("td");
    frames.className = "frames";
    const go = document.createElement("button");
    go.type = "button";
    go.textContent = `${label.start_frame}–${label.end_frame}`;
    go.title = "show this segment";
    go.addEventListener("click", () => seek(label.start_frame));
    frames.append(go);
    const text = document.createElement("td");
    text.className = "instruction";
    text.textContent = label.instruction;
    const by = document.createElement("td");
    by.className = "by";
    by.textContent = label.source === "human" ? label.annotator || "(unknown)" : label.source;
    const split = document.createElement("td");
    split.textContent = label.split;
    const actions = document.createElement("td");
    if (label.source === "human") {
      actions.append(button("Edit", "edit", () => startEdit(label)), button("Delete", "delete", () => remove(label)));
    }
    row.append(frames, text, by, split, actions);
    body.append(row);
  }
  draw();
}

function button(text, className, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

function startEdit(label) {
  state.editing = { id: label.id, annotator: label.annotator };
  state.picked = label.task_id
    ? { instruction: label.instruction, task_id: label.task_id, args: label.args, split: label.split } : null;
  setSegment(label.start_frame, label.end_frame);
  $("instruction").value = label.instruction;
  $("mode").textContent = `editing a label by ${label.annotator || "someone"}: Save replaces it, Esc cancels`;
  seek(label.start_frame);
  renderLabels();
  $("instruction").focus();
}

async function remove(label) {
  try {
    await api("DELETE", `/api/labels/${label.id}`);
    say(`deleted: “${label.instruction}” (frames ${label.start_frame}–${label.end_frame})`, "ok");
    if (state.editing && state.editing.id === label.id) clearSegment();
  } catch (error) {
    say(error.message, "error");
  }
  await refreshLabels();
}

// ---- keys ------------------------------------------------------------------------------------
function onKey(event) {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName) && event.target.type !== "checkbox";
  if (event.key === "Escape") {
    if (typing) event.target.blur();
    else clearSegment();
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey || !state.episode) return;
  const second = state.data.fps;
  const actions = {
    " ": togglePlay,
    ArrowLeft: () => seek(state.frame - (event.shiftKey ? second : 1)),
    ArrowRight: () => seek(state.frame + (event.shiftKey ? second : 1)),
    "[": markStart,
    "]": markEnd,
    Enter: () => $("instruction").focus(),
    n: () => stepEpisode(1),
    p: () => stepEpisode(-1),
  };
  const action = actions[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
}

function stepEpisode(direction) {
  const list = state.data.episodes;
  const at = list.findIndex((e) => e.index === state.episode.index);
  const next = list[at + direction];
  if (next) showEpisode(next.index);
}

// ---- start -----------------------------------------------------------------------------------
async function main() {
  $("label-form").addEventListener("submit", save);
  $("play").addEventListener("click", togglePlay);
  $("mark-start").addEventListener("click", markStart);
  $("mark-end").addEventListener("click", markEnd);
  $("cancel").addEventListener("click", clearSegment);
  $("speed").addEventListener("change", () => videos().forEach((v) => { v.playbackRate = Number($("speed").value); }));
  $("show-machine").addEventListener("change", () => { state.showMachine = $("show-machine").checked; renderLabels(); });
  for (const id of ["start", "end"]) {
    $(id).addEventListener("change", () => {
      const start = parseInt($("start").value, 10);
      const end = parseInt($("end").value, 10);
      setSegment(Number.isNaN(start) ? null : start, Number.isNaN(end) ? null : end);
    });
  }
  $("instruction").addEventListener("input", () => {
    if (state.picked && state.picked.instruction !== $("instruction").value) state.picked = null;
  });
  document.addEventListener("keydown", onKey);
  document.addEventListener("click", (event) => {  // a clicked button lets go of the focus, so keys keep working
    const clicked = event.target.closest("button");
    if (clicked && document.activeElement === clicked) clicked.blur();
  });
  setupTimeline();
  try {
    await loadDataset();
  } catch (error) {
    say(`cannot open the dataset: ${error.message}`, "error");
    return;
  }
  if (state.data.episodes.length) showEpisode(state.data.episodes[0].index);
  else say("this dataset has no episodes", "error");
  requestAnimationFrame(tick);
  setInterval(refreshLabels, REFRESH_MS);
}

main();
