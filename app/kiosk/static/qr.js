/* Anju kiosk: a compact QR Code encoder (ISO/IEC 18004, model 2).
 *
 * Byte mode only, error correction L or M, versions 1 to 4: up to 62 bytes at M and 78 at L,
 * plenty for a `tel:` URI. Usage:
 *
 *   var qr = AnjuQR.encode("tel:13900000001");          // {version, level, mask, size, modules}
 *   element.appendChild(AnjuQR.toSVG(qr, 4));           // an <svg> with a 4-module quiet zone
 *
 * `modules[y][x]` is true for a dark module. Options: {level: "M" | "L", version: 1-4,
 * mask: 0-7}; without `mask` the mask with the lowest penalty score (the standard's four rules)
 * is chosen.
 */
(function (global) {
  "use strict";

  // Per version: [error correction codewords per block, blocks, data codewords per block].
  var BLOCKS = {
    L: [null, [7, 1, 19], [10, 1, 34], [15, 1, 55], [20, 1, 80]],
    M: [null, [10, 1, 16], [16, 1, 28], [26, 1, 44], [18, 2, 32]],
  };
  var LEVEL_BITS = { L: 1, M: 0 };
  var MAX_VERSION = 4;

  // GF(256) over x^8 + x^4 + x^3 + x^2 + 1, for Reed-Solomon.
  var EXP = new Array(512);
  var LOG = new Array(256);
  (function () {
    var x = 1;
    for (var i = 0; i < 255; i++) {
      EXP[i] = x;
      LOG[x] = i;
      x <<= 1;
      if (x & 0x100) x ^= 0x11d;
    }
    for (i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
  })();

  function gfMul(a, b) {
    return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]];
  }

  // The generator polynomial (x - a^0)(x - a^1)...(x - a^(degree-1)), highest term first.
  function generator(degree) {
    var poly = [1];
    for (var i = 0; i < degree; i++) {
      var next = new Array(poly.length + 1).fill(0);
      for (var j = 0; j < poly.length; j++) {
        next[j] ^= poly[j];
        next[j + 1] ^= gfMul(poly[j], EXP[i]);
      }
      poly = next;
    }
    return poly;
  }

  function errorCorrection(data, degree) {
    var gen = generator(degree);
    var rest = data.concat(new Array(degree).fill(0));
    for (var i = 0; i < data.length; i++) {
      var factor = rest[i];
      if (factor !== 0) {
        for (var j = 1; j < gen.length; j++) rest[i + j] ^= gfMul(gen[j], factor);
      }
    }
    return rest.slice(data.length);
  }

  function utf8(text) {
    return Array.prototype.slice.call(new TextEncoder().encode(text));
  }

  function capacity(version, level) {
    var spec = BLOCKS[level][version];
    return spec[1] * spec[2] - 2; // mode (4 bits) and count (8 bits) take 1.5 codewords
  }

  // The final codeword sequence: data in byte mode, padded, split in blocks, each with its
  // error correction, interleaved.
  function codewords(bytes, version, level) {
    var spec = BLOCKS[level][version];
    var total = spec[1] * spec[2];
    var bits = [];
    function put(value, length) {
      for (var i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
    }
    put(4, 4); // byte mode
    put(bytes.length, 8);
    bytes.forEach(function (b) {
      put(b, 8);
    });
    put(0, Math.min(4, total * 8 - bits.length)); // terminator
    while (bits.length % 8) bits.push(0);
    var data = [];
    for (var i = 0; i < bits.length; i += 8) {
      var byte = 0;
      for (var k = 0; k < 8; k++) byte = (byte << 1) | bits[i + k];
      data.push(byte);
    }
    for (var pad = 0xec; data.length < total; pad ^= 0xec ^ 0x11) data.push(pad);

    var blocks = [];
    var ecBlocks = [];
    for (var b = 0; b < spec[1]; b++) {
      var block = data.slice(b * spec[2], (b + 1) * spec[2]);
      blocks.push(block);
      ecBlocks.push(errorCorrection(block, spec[0]));
    }
    var out = [];
    for (i = 0; i < spec[2]; i++) blocks.forEach(function (blk) { out.push(blk[i]); });
    for (i = 0; i < spec[0]; i++) ecBlocks.forEach(function (blk) { out.push(blk[i]); });
    return out;
  }

  function grid(size, value) {
    var rows = [];
    for (var y = 0; y < size; y++) rows.push(new Array(size).fill(value));
    return rows;
  }

  // Finder, separator, timing and alignment patterns, the dark module, and the format areas
  // (reserved here, written once the mask is known).
  function functionPatterns(version) {
    var size = 17 + 4 * version;
    var modules = grid(size, false);
    var fixed = grid(size, false);
    function set(x, y, dark) {
      modules[y][x] = dark;
      fixed[y][x] = true;
    }
    [[3, 3], [size - 4, 3], [3, size - 4]].forEach(function (c) {
      for (var dy = -4; dy <= 4; dy++) {
        for (var dx = -4; dx <= 4; dx++) {
          var x = c[0] + dx;
          var y = c[1] + dy;
          if (x < 0 || y < 0 || x >= size || y >= size) continue;
          var ring = Math.max(Math.abs(dx), Math.abs(dy));
          set(x, y, ring !== 2 && ring !== 4);
        }
      }
    });
    for (var i = 8; i < size - 8; i++) {
      set(6, i, i % 2 === 0);
      set(i, 6, i % 2 === 0);
    }
    if (version >= 2) {
      var at = size - 7;
      for (var ay = -2; ay <= 2; ay++) {
        for (var ax = -2; ax <= 2; ax++) {
          set(at + ax, at + ay, Math.max(Math.abs(ax), Math.abs(ay)) !== 1);
        }
      }
    }
    for (i = 0; i < 9; i++) {
      if (i === 6) continue; // the timing patterns cross here
      set(8, i, false);
      set(i, 8, false);
    }
    for (i = 0; i < 8; i++) {
      set(size - 1 - i, 8, false);
      set(8, size - 1 - i, false);
    }
    set(8, size - 8, true); // the dark module
    return { size: size, modules: modules, fixed: fixed };
  }

  function placeData(matrix, words) {
    var size = matrix.size;
    var index = 0;
    var total = words.length * 8;
    for (var right = size - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5; // skip the vertical timing pattern
      var upward = ((right + 1) & 2) === 0;
      for (var v = 0; v < size; v++) {
        var y = upward ? size - 1 - v : v;
        for (var j = 0; j < 2; j++) {
          var x = right - j;
          if (matrix.fixed[y][x]) continue;
          var bit = 0;
          if (index < total) bit = (words[index >>> 3] >>> (7 - (index & 7))) & 1;
          matrix.modules[y][x] = bit === 1;
          index++;
        }
      }
    }
  }

  var MASKS = [
    function (x, y) { return (x + y) % 2 === 0; },
    function (x, y) { return y % 2 === 0; },
    function (x, y) { return x % 3 === 0; },
    function (x, y) { return (x + y) % 3 === 0; },
    function (x, y) { return (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0; },
    function (x, y) { return ((x * y) % 2) + ((x * y) % 3) === 0; },
    function (x, y) { return (((x * y) % 2) + ((x * y) % 3)) % 2 === 0; },
    function (x, y) { return (((x + y) % 2) + ((x * y) % 3)) % 2 === 0; },
  ];

  function formatBits(level, mask) {
    var data = (LEVEL_BITS[level] << 3) | mask;
    var rem = data;
    for (var i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
    return ((data << 10) | rem) ^ 0x5412;
  }

  function masked(base, level, mask) {
    var size = base.size;
    var modules = base.modules.map(function (row, y) {
      return row.map(function (dark, x) {
        return base.fixed[y][x] ? dark : dark !== MASKS[mask](x, y);
      });
    });
    var bits = formatBits(level, mask);
    function bit(i) {
      return ((bits >>> i) & 1) === 1;
    }
    for (var i = 0; i <= 5; i++) modules[i][8] = bit(i);
    modules[7][8] = bit(6);
    modules[8][8] = bit(7);
    modules[8][7] = bit(8);
    for (i = 9; i < 15; i++) modules[8][14 - i] = bit(i);
    for (i = 0; i < 8; i++) modules[8][size - 1 - i] = bit(i);
    for (i = 8; i < 15; i++) modules[size - 15 + i][8] = bit(i);
    modules[size - 8][8] = true;
    return modules;
  }

  // Finder-like 1:1:3:1:1 runs with 4 light modules on one side, counting the quiet zone as
  // light (the 2015 edition of the standard), from the last seven run lengths.
  function finderLike(history) {
    var n = history[1];
    var core = n > 0 && history[2] === n && history[3] === n * 3 && history[4] === n &&
      history[5] === n;
    return (core && history[0] >= n * 4 && history[6] >= n ? 1 : 0) +
      (core && history[6] >= n * 4 && history[0] >= n ? 1 : 0);
  }

  // The standard's penalty: runs, 2x2 blocks, finder-like patterns, dark/light balance.
  function penalty(modules) {
    var size = modules.length;
    var score = 0;
    for (var vertical = 0; vertical < 2; vertical++) {
      for (var line = 0; line < size; line++) {
        var color = false;
        var run = 0;
        var history = [0, 0, 0, 0, 0, 0, 0];
        var push = function (length) {
          if (history[0] === 0) length += size; // the quiet zone before the first run
          history.pop();
          history.unshift(length);
        };
        for (var i = 0; i < size; i++) {
          var isDark = vertical ? modules[i][line] : modules[line][i];
          if (isDark === color) {
            run++;
            if (run === 5) score += 3;
            else if (run > 5) score++;
          } else {
            push(run);
            if (!color) score += finderLike(history) * 40;
            color = isDark;
            run = 1;
          }
        }
        if (color) {
          push(run);
          run = 0;
        }
        push(run + size); // the quiet zone after the last run
        score += finderLike(history) * 40;
      }
    }
    var dark = 0;
    for (var y = 0; y < size; y++) {
      for (var x = 0; x < size; x++) {
        if (modules[y][x]) dark++;
        if (
          x + 1 < size && y + 1 < size &&
          modules[y][x] === modules[y][x + 1] &&
          modules[y][x] === modules[y + 1][x] &&
          modules[y][x] === modules[y + 1][x + 1]
        ) {
          score += 3;
        }
      }
    }
    var total = size * size;
    score += (Math.ceil(Math.abs(dark * 20 - total * 10) / total) - 1) * 10;
    return score;
  }

  function encode(text, options) {
    options = options || {};
    var level = options.level || "M";
    if (!BLOCKS[level]) throw new Error("AnjuQR: error correction level must be L or M");
    var bytes = utf8(text);
    var version = options.version;
    if (version === undefined) {
      for (version = 1; version <= MAX_VERSION; version++) {
        if (bytes.length <= capacity(version, level)) break;
      }
    }
    if (version < 1 || version > MAX_VERSION || bytes.length > capacity(version, level)) {
      throw new Error("AnjuQR: text too long for versions 1-" + MAX_VERSION);
    }
    var base = functionPatterns(version);
    placeData(base, codewords(bytes, version, level));
    var best = null;
    var masks = options.mask === undefined ? [0, 1, 2, 3, 4, 5, 6, 7] : [options.mask];
    masks.forEach(function (mask) {
      var modules = masked(base, level, mask);
      var score = masks.length > 1 ? penalty(modules) : 0;
      if (best === null || score < best.score) best = { mask: mask, modules: modules, score: score };
    });
    return {
      version: version,
      level: level,
      mask: best.mask,
      size: base.size,
      modules: best.modules,
    };
  }

  var SVG_NS = "http://www.w3.org/2000/svg";

  // An <svg> of the symbol: one path for the dark modules on a white square with a quiet zone
  // of `border` modules (4 by the standard). It scales to its box with crisp edges.
  function toSVG(qr, border) {
    border = border === undefined ? 4 : border;
    var side = qr.size + 2 * border;
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + side + " " + side);
    svg.setAttribute("shape-rendering", "crispEdges");
    svg.setAttribute("data-version", String(qr.version));
    svg.setAttribute("data-mask", String(qr.mask));
    svg.setAttribute("data-border", String(border));
    var background = document.createElementNS(SVG_NS, "rect");
    background.setAttribute("width", String(side));
    background.setAttribute("height", String(side));
    background.setAttribute("fill", "#fff");
    svg.appendChild(background);
    var d = [];
    for (var y = 0; y < qr.size; y++) {
      for (var x = 0; x < qr.size; x++) {
        if (qr.modules[y][x]) d.push("M" + (x + border) + " " + (y + border) + "h1v1h-1z");
      }
    }
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d.join(""));
    path.setAttribute("fill", "#000");
    svg.appendChild(path);
    return svg;
  }

  global.AnjuQR = { encode: encode, toSVG: toSVG, capacity: capacity };
})(window);
