/* The null-space explorer (see nninv_book/explorer.py): plain JavaScript and a canvas, no network.
   Each .nullspace-explorer element carries its data as inline JSON; the page computes the layer's
   ten outputs sigmoid(x W + b) itself, in float64, as the sliders move x through the preimage set. */
(function () {
  "use strict";

  var MODE_NAMES = {null: "null space: the outputs stay fixed", row: "row space: the outputs move"};
  var SCALE = 7;  // canvas pixels per image pixel

  function decode(text) {  // base64 of little-endian float64 bytes
    var binary = atob(text), bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    var view = new DataView(bytes.buffer), values = new Float64Array(bytes.length / 8);
    for (var k = 0; k < values.length; k++) values[k] = view.getFloat64(8 * k, true);
    return values;
  }

  function outputs(W, b, x, nIn, nOut) {
    var y = new Float64Array(nOut);
    for (var j = 0; j < nOut; j++) {
      var z = 0;
      for (var i = 0; i < nIn; i++) z += x[i] * W[i * nOut + j];
      y[j] = 1 / (1 + Math.exp(-(z + b[j])));
    }
    return y;
  }

  function make(tag, attributes, parent) {
    var element = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) { element.setAttribute(key, attributes[key]); });
    if (parent) parent.appendChild(element);
    return element;
  }

  function build(root) {
    var data = JSON.parse(root.querySelector("script.explorer-data").textContent);
    var nIn = data.n_in, nOut = data.n_out, side = data.side;
    var W = decode(data.W), b = decode(data.b);
    var starts = data.digits.map(function (digit) { return decode(digit.start); });
    var modes = {};
    data.modes.forEach(function (mode) {
      var all = decode(mode.directions), rows = [];
      for (var k = 0; k < mode.scales.length; k++) rows.push(all.subarray(k * nIn, (k + 1) * nIn));
      modes[mode.name] = {directions: rows, scales: mode.scales};
    });

    var frame = make("div", {"class": "explorer-frame"}, root);
    var controls = make("div", {"class": "explorer-controls"}, frame);
    var digitLabel = make("label", {}, controls);
    digitLabel.appendChild(document.createTextNode("Test digit "));
    var digitChoice = make("select", {"class": "explorer-digit"}, digitLabel);
    data.digits.forEach(function (digit, index) {
      make("option", {value: String(index)}, digitChoice).textContent = "#" + (index + 1) + ", a " + digit.label;
    });
    var modeLabel = make("label", {}, controls);
    modeLabel.appendChild(document.createTextNode("Move along the "));
    var modeChoice = make("select", {"class": "explorer-mode"}, modeLabel);
    data.modes.forEach(function (mode) {
      make("option", {value: mode.name}, modeChoice).textContent = MODE_NAMES[mode.name] || mode.name;
    });
    var sliders = [], count = data.modes[0].scales.length;
    for (var k = 0; k < count; k++) {
      var row = make("label", {"class": "explorer-slider"}, controls);
      row.appendChild(document.createTextNode("direction " + (k + 1) + " "));
      sliders.push(make("input", {type: "range", min: String(-data.spread), max: String(data.spread),
                                  step: String(data.spread / 50), value: "0"}, row));
    }
    var reset = make("button", {type: "button", "class": "explorer-reset"}, controls);
    reset.textContent = "Back to the start";

    var canvas = make("canvas", {width: String(side * SCALE), height: String(side * SCALE)}, frame);
    var context = canvas.getContext("2d");
    var pixels = document.createElement("canvas");
    pixels.width = pixels.height = side;
    var pixelContext = pixels.getContext("2d"), picture = pixelContext.createImageData(side, side);

    var panel = make("div", {"class": "explorer-panel"}, frame);
    var table = make("table", {"class": "explorer-outputs"}, panel);
    make("tr", {}, make("thead", {}, table)).innerHTML = "<th>class</th><th>output</th>";
    var body = make("tbody", {}, table), cells = [];
    for (var j = 0; j < nOut; j++) {
      var line = make("tr", {}, body);
      make("td", {}, line).textContent = String(j);
      cells.push(make("td", {"class": "explorer-output"}, line));
    }
    var change = make("p", {"class": "explorer-change"}, panel);
    change.appendChild(document.createTextNode("Largest change of an output from the start: "));
    var maxChange = make("span", {"class": "explorer-max-change"}, change);

    function draw(x) {
      for (var i = 0; i < nIn; i++) {
        var grey = Math.round(255 * Math.min(1, Math.max(0, x[i])));
        picture.data[4 * i] = picture.data[4 * i + 1] = picture.data[4 * i + 2] = grey;
        picture.data[4 * i + 3] = 255;
      }
      pixelContext.putImageData(picture, 0, 0);
      context.imageSmoothingEnabled = false;
      context.drawImage(pixels, 0, 0, canvas.width, canvas.height);
    }

    function update() {
      var start = starts[Number(digitChoice.value)], mode = modes[modeChoice.value];
      var x = Float64Array.from(start), shift = new Float64Array(nIn);
      sliders.forEach(function (slider, k) {
        var step = Number(slider.value) * mode.scales[k], direction = mode.directions[k];
        for (var i = 0; i < nIn; i++) shift[i] += step * direction[i];
      });
      for (var i = 0; i < nIn; i++) x[i] += shift[i];
      var y = outputs(W, b, x, nIn, nOut), y0 = outputs(W, b, start, nIn, nOut), largest = 0;
      for (var j = 0; j < nOut; j++) {
        cells[j].textContent = y[j].toFixed(12);
        cells[j].title = y[j].toPrecision(17);
        largest = Math.max(largest, Math.abs(y[j] - y0[j]));
      }
      maxChange.textContent = largest === 0 ? "0" : largest.toExponential(1);
      draw(x);
    }

    function restart() { sliders.forEach(function (slider) { slider.value = "0"; }); update(); }
    sliders.forEach(function (slider) { slider.addEventListener("input", update); });
    digitChoice.addEventListener("change", restart);
    modeChoice.addEventListener("change", restart);
    reset.addEventListener("click", restart);
    update();
  }

  function start() { Array.prototype.forEach.call(document.querySelectorAll(".nullspace-explorer"), build); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
