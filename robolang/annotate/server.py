"""The labelling web app: the page, the cameras' video files, and a small JSON API.

Routes (all JSON but the page and the videos)::

    GET    /                                   the page (static/index.html)
    GET    /videos/<file under videos/>        a camera's video file, with HTTP range requests
    GET    /api/dataset                        name, annotator, fps, cameras, episodes and their spans
    GET    /api/labels?episode=N               the episode's labels (every source), label counts per episode
    POST   /api/labels                         a new human label {episode, start, end, instruction, ...}
    PUT    /api/labels/<id>                    replace a human label
    DELETE /api/labels/<id>                    delete a human label
    GET    /api/suggestions?episode=N&start=S&end=E   instructions to offer for frames [S, E)

Refused input answers 4xx with ``{"error": "..."}`` and writes nothing. Off the loopback
interface every request needs the shared token (``?token=`` once, which sets a cookie, or the
``X-Robolang-Token`` header); on it, requests must name a loopback host (no DNS rebinding).
Writes must be JSON, so another web site cannot post a form to the server.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
import socket
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, abort, jsonify, redirect, request, send_file, send_from_directory

from robolang.annotate.catalogue import AnnotateError, open_dataset, read_catalogue
from robolang.annotate.labels import Draft, LabelError, LabelStore, StaleLabelError
from robolang.annotate.suggestions import Suggester, no_suggestions, suggester_for
from robolang.captioning.config import CaptionConfig
from robolang.errors import RobolangError
from robolang.task_match import MAX_CHARS, MAX_WORDS

STATIC = Path(__file__).parent / "static"
TOKEN_COOKIE = "robolang_annotate_token"
TOKEN_HEADER = "X-Robolang-Token"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def create_app(
    root: str | Path, annotator: str, token: str | None = None, suggest: Suggester = no_suggestions
) -> Flask:
    """The app for the dataset at ``root`` (checked beforehand: ``catalogue.open_dataset``).
    ``token``: required on every request (serving off the loopback interface); None: loopback
    only. ``suggest``: the suggester the page offers instructions from."""
    root = Path(root)
    store = LabelStore(root, annotator)
    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False
    app.config["ANNOTATOR"] = store.annotator
    app.before_request(lambda: _guard(token))
    _add_pages(app, root, token)
    _add_dataset_api(app, root, suggest)
    _add_label_api(app, store)
    _add_error_answers(app)
    return app


def _guard(token: str | None) -> Response | None:
    """Refuse a request without the token (off loopback) or naming a foreign host (on it),
    and a write that is not JSON (a web page elsewhere can post a form here without a CORS
    preflight, but not JSON)."""
    if token is None:
        if urlsplit(f"//{request.host}").hostname not in LOOPBACK_NAMES:
            return _error("this server answers only on localhost (--host to serve others)", 403)
    elif not any(hmac.compare_digest(token.encode(), t.encode()) for t in _offered_tokens()):
        return _error("this server needs its token: open the address it printed at start (…/?token=…)", 401)
    if request.method in ("POST", "PUT") and not request.is_json:
        return _error("writes must be JSON (Content-Type: application/json)", 415)
    return None


def _add_pages(app: Flask, root: Path, token: str | None) -> None:
    @app.get("/")
    def page():
        if token is not None and request.args.get("token"):  # keep the token in a cookie, out of the address bar
            response = redirect("/")
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
            return response
        return send_from_directory(STATIC, "index.html", max_age=0)

    @app.get("/static/<path:name>")
    def static_file(name: str):
        return send_from_directory(STATIC, name, max_age=0)

    @app.get("/videos/<path:name>")
    def video(name: str):
        name = f"videos/{name}"
        if name not in read_catalogue(root).files:  # only the dataset's own video files, nothing else on disk
            abort(404)
        return send_file(root / name, mimetype="video/mp4", conditional=True, max_age=3600)


def _add_dataset_api(app: Flask, root: Path, suggest: Suggester) -> None:
    @app.get("/api/dataset")
    def dataset():
        catalogue = read_catalogue(root)
        episodes = [
            {
                "index": e.index,
                "length": e.length,
                "videos": {k: {"url": f"/{v.file}", "from": v.from_s, "to": v.to_s} for k, v in e.videos.items()},
            }
            for e in sorted(catalogue.episodes.values(), key=lambda e: e.index)
        ]
        return jsonify(
            name=root.absolute().name, annotator=app.config["ANNOTATOR"], fps=catalogue.fps,
            cameras=list(catalogue.cameras), episodes=episodes, max_chars=MAX_CHARS, max_words=MAX_WORDS,
        )  # fmt: skip

    @app.get("/api/suggestions")
    def suggestions():
        episode, start, end = (request.args.get(k, type=int) for k in ("episode", "start", "end"))
        if None in (episode, start, end):
            return _error("give episode, start and end as whole frame numbers", 400)
        if episode not in read_catalogue(root).episodes:
            return _error(f"episode {episode} is not in the dataset", 404)
        found = suggest(root, episode, start, end)
        return jsonify(suggestions=[vars(s) for s in found.items], note=found.note)


def _add_label_api(app: Flask, store: LabelStore) -> None:
    @app.get("/api/labels")
    def labels():
        episode = request.args.get("episode", type=int)
        rows = store.labels()
        counts: dict[int, dict[str, int]] = {}
        for r in rows:
            per = counts.setdefault(r["episode_index"], {})
            per[r["source"]] = per.get(r["source"], 0) + 1
        chosen = rows if episode is None else [r for r in rows if r["episode_index"] == episode]
        return jsonify(labels=chosen, counts={str(k): v for k, v in counts.items()})

    @app.post("/api/labels")
    def add_label():
        return jsonify(label=store.add(Draft.from_json(request.get_json(silent=True)))), 201

    @app.put("/api/labels/<label>")
    def edit_label(label: str):
        return jsonify(label=store.edit(label, Draft.from_json(request.get_json(silent=True))))

    @app.delete("/api/labels/<label>")
    def delete_label(label: str):
        store.delete(label)
        return jsonify(deleted=label)


def _add_error_answers(app: Flask) -> None:
    @app.errorhandler(StaleLabelError)
    def stale(exc):
        return _error(str(exc), 409)

    @app.errorhandler(LabelError)
    def refused(exc):
        return _error(str(exc), 400)

    @app.errorhandler(RobolangError)
    @app.errorhandler(OSError)
    def not_now(exc):  # the dataset busy (a recorder holds it) or gone, the disk full, ...
        return _error(str(exc) if request.method == "GET" else f"nothing was written: {exc}", 503)


def serve(
    path: str | Path,
    annotator: str,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    cfg: CaptionConfig | None = None,
) -> int:
    """Check the dataset, then serve the page until Ctrl-C. Off the loopback interface a token
    is required (``token``, or a new random one), printed in the address to open. ``cfg``: the
    caption thresholds the suggestions use."""
    from werkzeug.serving import make_server

    from robolang.recording.store import DatasetStoreError, check_writable, versions_dir

    root, catalogue = open_dataset(path)
    for folder in (root.absolute().parent, versions_dir(root.absolute())):
        try:
            check_writable(folder, 16 * 2**20)  # a label's snapshot copies meta/ (data and videos hard-linked)
        except DatasetStoreError as exc:
            raise AnnotateError(f"cannot store labels in {root}: {exc}") from exc
    if not is_loopback(host):
        token = token or secrets.token_urlsafe(18)
    app = create_app(root, annotator, token, suggester_for(root, cfg))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request: the page polls every few seconds
    server = make_server(host, port, app, threaded=True)
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{server.server_port}/" + (f"?token={token}" if token else "")
    print(f"labelling {root} ({len(catalogue.episodes)} episodes) as {app.config['ANNOTATOR']!r}")
    print(f"open {address}" + ("   (everyone who labels needs the token: share it)" if token else ""))
    print("Ctrl-C stops the server; every label is stored as soon as it is submitted", flush=True)
    try:
        server.serve_forever()  # werkzeug's returns on Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("stopped; every submitted label is stored")
    return 0


def _offered_tokens() -> list[str]:
    offered = [request.headers.get(TOKEN_HEADER), request.cookies.get(TOKEN_COOKIE), request.args.get("token")]
    return [t for t in offered if t]


def _error(message: str, status: int) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response
