// frame.js: the page draws in one requestAnimationFrame callback. Events
// from the server and the user only change state and ask for a frame; the
// frame then writes the DOM and the chart, so the page does the same work
// per frame at any tick rate.

let steps = [];
let requested = false;
let frames = 0;

// drawEachFrame sets what every frame runs, in order.
export function drawEachFrame(inOrder) {
  steps = inOrder;
}

// requestFrame asks for a frame, unless one is already on its way.
export function requestFrame() {
  if (!requested) {
    requested = true;
    requestAnimationFrame(draw);
  }
}

// framesDrawn counts the frames drawn since the page loaded.
export function framesDrawn() {
  return frames;
}

function draw(now) {
  requested = false; // a step that asks for a frame gets the next one
  frames++;
  for (const step of steps) step(now);
}
