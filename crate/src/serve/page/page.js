// The deployment page: every picture (chosen, dropped, pasted or an example) is POSTed as it is
// to /api/classify; the server converts and classifies it as `classify_image` does and answers
// JSON, drawn here as a card. Nothing is kept anywhere but in this page.
"use strict";

const $ = (selector) => document.querySelector(selector);
const page = {
  classes: [],
  maxUpload: 20 * 1024 * 1024,
  urls: [],
};

function megabytes(bytes) {
  const mb = bytes / (1024 * 1024);
  return (Number.isInteger(mb) ? mb : mb.toFixed(mb < 1 ? 2 : 1)) + " MB";
}

function percent(p) {
  return (100 * p).toFixed(1) + " %";
}

async function loadModels() {
  const select = $("#model");
  const status = $("#model-status");
  let info;
  try {
    const response = await fetch("/api/models");
    info = await response.json();
  } catch (e) {
    status.textContent = "The server did not answer (" + e.message + "): is fashion-lab serve running?";
    status.classList.add("warn");
    return;
  }
  page.classes = info.classes;
  page.maxUpload = info.max_upload_bytes;
  $("#limit").textContent = "Up to " + megabytes(page.maxUpload) + " per picture.";
  select.replaceChildren();
  for (const model of info.models) {
    const option = document.createElement("option");
    option.value = model.default ? "" : model.name;
    const name = model.name || model.path;
    option.textContent = name + (model.default ? " (default)" : "") + " · " + megabytes(model.bytes);
    option.selected = model.default;
    select.append(option);
  }
  if (!info.models.some((m) => m.default)) {
    const option = document.createElement("option");
    option.value = "";
    option.textContent = "default: " + info.default.path + " (missing)";
    option.selected = true;
    select.prepend(option);
  }
  if (info.default.ready) {
    const n = info.models.length;
    status.textContent = n + (n === 1 ? " saved model" : " saved models") + " in " + info.models_dir + "/";
    status.classList.remove("warn");
  } else {
    status.textContent = info.default.problem;
    status.classList.add("warn");
  }
}

async function loadExamples() {
  const gallery = $("#gallery");
  let names = [];
  try {
    names = await (await fetch("/api/examples")).json();
  } catch (e) {
    gallery.textContent = "The examples could not be listed (" + e.message + ").";
    return;
  }
  for (const name of names) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.example = name;
    const img = document.createElement("img");
    img.src = "/examples/" + encodeURIComponent(name);
    img.alt = "";
    const label = document.createElement("span");
    label.textContent = name;
    button.append(img, label);
    button.addEventListener("click", () => classifyExample(name));
    gallery.append(button);
  }
}

async function classifyExample(name) {
  const card = newCard(name);
  try {
    const response = await fetch("/examples/" + encodeURIComponent(name));
    classifyInto(card, name, await response.blob());
  } catch (e) {
    showError(card, null, "the example could not be fetched (" + e.message + ")");
  }
}

function classifyFiles(files) {
  // Newest first, but a batch keeps its order.
  const cards = [...files].reverse().map((file) => newCard(file.name)).reverse();
  files.forEach((file, i) => classifyInto(cards[i], file.name, file));
}

function newCard(name) {
  const card = $("#card").content.firstElementChild.cloneNode(true);
  card.querySelector(".file").textContent = name;
  card.dataset.file = name;
  card.dataset.state = "pending";
  $("#results").prepend(card);
  $("#empty").hidden = true;
  return card;
}

async function classifyInto(card, name, blob) {
  const img = card.querySelector(".picture");
  const url = URL.createObjectURL(blob);
  page.urls.push(url);
  img.addEventListener("error", () => card.querySelector(".mine").remove(), { once: true });
  img.src = url;
  const query = new URLSearchParams({ name });
  const model = $("#model").value;
  if (model) query.set("model", model);
  let response;
  let answer = null;
  try {
    response = await fetch("/api/classify?" + query, {
      method: "POST",
      body: blob,
      headers: { "Content-Type": blob.type || "application/octet-stream" },
    });
    answer = await response.json().catch(() => null);
  } catch (e) {
    showError(card, null, "the server did not answer (" + e.message + ")");
    return;
  }
  if (!response.ok || !answer || answer.error) {
    showError(card, response.status, answer && answer.error ? answer.error : response.statusText);
    return;
  }
  showResult(card, answer);
}

function showError(card, status, message) {
  card.classList.add("failed");
  card.dataset.state = "failed";
  if (status) card.dataset.status = status;
  const outcome = card.querySelector(".outcome");
  outcome.setAttribute("role", "alert");
  outcome.textContent = (status ? "HTTP " + status + ": " : "") + message;
}

function showResult(card, answer) {
  card.dataset.state = "done";
  card.dataset.class = answer.name;
  card.dataset.confidence = answer.confidence;
  const outcome = card.querySelector(".outcome");
  outcome.replaceChildren();
  const name = document.createElement("span");
  name.className = "class";
  name.textContent = answer.name;
  const confidence = document.createElement("span");
  confidence.className = "confidence";
  confidence.textContent = percent(answer.confidence);
  outcome.append(name, " ", confidence);

  const canvas = card.querySelector("canvas");
  const context = canvas.getContext("2d");
  const image = context.createImageData(28, 28);
  answer.input.forEach((v, i) => {
    image.data.set([v, v, v, 255], 4 * i);
  });
  context.putImageData(image, 0, 0);

  const bars = card.querySelector(".bars");
  answer.probabilities.forEach((p, i) => {
    const row = document.createElement("li");
    if (i === answer.class) row.className = "top";
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = answer.classes[i];
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = (100 * p).toFixed(2) + "%";
    track.append(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = percent(p);
    row.append(label, track, value);
    bars.append(row);
  });
  card.querySelector(".meta").textContent =
    "model " + answer.model + " · " + answer.milliseconds.toFixed(1) + " ms";
}

function filesOf(transfer) {
  if (!transfer) return [];
  if (transfer.files && transfer.files.length) return [...transfer.files];
  return [...(transfer.items || [])]
    .filter((item) => item.kind === "file")
    .map((item) => item.getAsFile())
    .filter(Boolean);
}

function wire() {
  $("#files").addEventListener("change", (event) => {
    classifyFiles([...event.target.files]);
    event.target.value = "";
  });
  const drop = $("#drop");
  document.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) drop.classList.remove("over");
  });
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    classifyFiles(filesOf(event.dataTransfer));
  });
  document.addEventListener("paste", (event) => {
    const files = filesOf(event.clipboardData);
    if (files.length) {
      event.preventDefault();
      classifyFiles(files.map((f, i) => (f.name ? f : new File([f], "pasted-" + (i + 1) + ".png", { type: f.type }))));
    }
  });
  $("#clear").addEventListener("click", () => {
    $("#results").replaceChildren();
    $("#empty").hidden = false;
    page.urls.forEach((url) => URL.revokeObjectURL(url));
    page.urls = [];
  });
  $("#api-example").textContent =
    "curl --data-binary @picture.png " + location.origin + "/api/classify";
}

wire();
loadModels();
loadExamples();
