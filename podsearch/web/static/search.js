// podsearch: search as you type, play moments in place, keyboard navigation.
// The page works without this script: the form submits, times link to YouTube.
(function () {
  "use strict";

  var EMBED_ORIGIN = "https://www.youtube-nocookie.com";
  var VIDEO_ID = /^[A-Za-z0-9_-]{11}$/;
  var SECONDS = /^[0-9]{1,7}$/;
  var DEBOUNCE_MS = 250;

  var player = document.getElementById("player");
  var frameBox = document.getElementById("player-frame");
  var form = document.getElementById("search");
  var input = document.getElementById("q");
  var results = document.getElementById("results");

  // --- the player ------------------------------------------------------------------------

  function embedUrl(video, start) {
    return EMBED_ORIGIN + "/embed/" + video + "?start=" + start + "&autoplay=1&enablejsapi=1&rel=0" +
      "&origin=" + encodeURIComponent(location.origin);
  }

  function command(frame, func, args) {
    // the YouTube IFrame API's message format; ignored by anything but the embed
    frame.contentWindow.postMessage(JSON.stringify({ event: "command", func: func, args: args }), EMBED_ORIGIN);
  }

  // Plays a video at a second. The same video seeks the open player (no reload):
  // player.dataset.seeks counts the seeks, so tests can tell the two apart.
  function play(video, start, title) {
    if (!player || !VIDEO_ID.test(video || "") || !SECONDS.test(start || "")) {
      return false;
    }
    var frame = frameBox.querySelector("iframe");
    player.hidden = false;
    document.body.classList.add("playing");
    document.getElementById("player-title").textContent = title || "";
    if (frame && player.dataset.video === video) {
      command(frame, "seekTo", [Number(start), true]);
      command(frame, "playVideo", []);
      player.dataset.seeks = String(Number(player.dataset.seeks || "0") + 1);
    } else {
      if (!frame) {
        frame = document.createElement("iframe");
        frame.title = "YouTube video player";
        frame.allow = "autoplay; encrypted-media; picture-in-picture; fullscreen";
        frame.referrerPolicy = "strict-origin-when-cross-origin";
        frame.setAttribute("allowfullscreen", "");
        frameBox.appendChild(frame);
      }
      frame.src = embedUrl(video, start);
      player.dataset.seeks = "0";
    }
    player.dataset.video = video;
    player.dataset.start = start;
    return true;
  }

  function closePlayer() {
    if (!player) {
      return;
    }
    frameBox.textContent = "";
    player.hidden = true;
    document.body.classList.remove("playing");
    delete player.dataset.video;
    delete player.dataset.start;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.play") : null;
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
      return;
    }
    if (play(link.dataset.video, link.dataset.start, link.dataset.title)) {
      event.preventDefault();
      document.querySelectorAll("a.play.playing").forEach(function (other) { other.classList.remove("playing"); });
      link.classList.add("playing");
    }
  });

  var closeButton = document.getElementById("player-close");
  if (closeButton) {
    closeButton.addEventListener("click", closePlayer);
  }

  // --- search as you type ----------------------------------------------------------------

  function stateQuery() {
    var pairs = [];
    new FormData(form).forEach(function (value, name) {
      if (String(value).trim() !== "") {
        pairs.push([name, String(value)]);
      }
    });
    return new URLSearchParams(pairs).toString();
  }

  var timer = null;
  var pending = null;

  function refresh(push) {
    var query = stateQuery();
    var browse = document.getElementById("browse");
    if (pending) {
      pending.abort();
    }
    if (!input.value.trim()) {
      results.textContent = "";
      if (browse) {
        browse.hidden = false;
      }
      history.replaceState(null, "", query ? "/?" + query : "/");
      return;
    }
    pending = new AbortController();
    fetch("/results?" + query, { signal: pending.signal, headers: { Accept: "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        // server-rendered and escaped like the page itself; markup from transcripts is already text
        results.innerHTML = html;
        results.dataset.query = query;
        if (browse) {
          browse.hidden = true;
        }
        history[push ? "pushState" : "replaceState"](null, "", "/?" + query);
        var title = input.value.trim();
        document.title = title ? title + " · podsearch" : "podsearch";
      })
      .catch(function (error) {
        if (error.name !== "AbortError") {
          results.dataset.failed = String(error);
        }
      });
  }

  if (form && input && results) {
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { refresh(false); }, DEBOUNCE_MS);
    });
    form.addEventListener("change", function (event) {
      if (event.target !== input) {
        clearTimeout(timer);
        refresh(true);
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearTimeout(timer);
      refresh(true);
    });
    window.addEventListener("popstate", function () { location.reload(); });
  }

  // --- keyboard --------------------------------------------------------------------------

  function moments() {
    return Array.prototype.slice.call(document.querySelectorAll("main a.time"));
  }

  function move(step) {
    var list = moments();
    if (!list.length) {
      return;
    }
    var at = list.indexOf(document.activeElement);
    var next = at < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, at + step));
    list[next].focus();
    list[next].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var tag = (target.tagName || "").toLowerCase();
    var typing = tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (event.key === "Escape" && player && !player.hidden) {
      closePlayer();
    } else if (event.key === "/" && !typing && input) {
      event.preventDefault();
      input.focus();
      input.select();
    } else if (event.key === "ArrowDown" && target === input) {
      event.preventDefault();
      move(1);
    } else if (!typing && (event.key === "j" || (event.key === "ArrowDown" && moments().indexOf(target) >= 0))) {
      event.preventDefault();
      move(1);
    } else if (!typing && (event.key === "k" || (event.key === "ArrowUp" && moments().indexOf(target) >= 0))) {
      event.preventDefault();
      move(-1);
    }
  });

  // --- the episode page: bring the moment into view ---------------------------------------

  var moment = document.querySelector(".para.target");
  if (moment) {
    moment.scrollIntoView({ block: "center" });
  }
})();
