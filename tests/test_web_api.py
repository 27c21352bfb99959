"""The JSON API of `matcalc serve`, against a real server on an ephemeral port."""
import http.client
import json
import threading

import pytest

import matcalc as mc
from matcalc.web.server import MAX_BODY, make_server
from matcalc.web.workers import WorkerPool


@pytest.fixture(scope="module")
def server():
    srv = make_server("127.0.0.1", 0, workers=1)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    srv.pool.close()


def _request(server, method, path, body=None, headers=None, raw=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=60)
    payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    sent = {"Content-Type": "application/json"} if payload is not None else {}
    sent.update(headers or {})
    connection.request(method, path, body=payload, headers=sent)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, response.headers, data


def _post(server, path, body):
    status, _, data = _request(server, "POST", path, body)
    return status, json.loads(data)


def test_derive_answers_what_python_answers(server):
    shapes = {"A": "n,n:symmetric", "x": "n"}
    status, body = _post(server, "/api/derive", {"f": "x.T @ A @ x", "wrt": "x", "shapes": shapes})
    g = mc.derive("x.T @ A @ x", "x", {"A": mc.matrix("A", "n", "n", symmetric=True), "x": "n"})
    assert status == 200
    assert body["text"] == str(g) == "2 A x" and body["latex"] == g.latex()
    assert body["code"] == {b: g.source(b) for b in ("numpy", "jax", "torch")}
    assert body["check"]["status"] == "ok" and "max relative error" in body["check"]["message"]
    assert body["steps"]["text"] == str(g.steps()) and body["steps"]["latex"] == g.steps().latex()
    assert body["variables"] == {"A": "n,n:symmetric", "x": "n"} and body["inferred"] == {}
    assert (body["wrt"], body["kind"], body["shape"]) == ("x", "gradient", "n×1")


def test_derive_reports_inferred_shapes_and_several_variables(server):
    status, body = _post(server, "/api/derive", {"f": "0.5 * norm2(W2 @ tanh(W1 @ x) - y) ** 2",
                                                 "wrt": ["W1", "W2"], "order": 1})
    assert status == 200
    assert [r["wrt"] for r in body["results"]] == ["W1", "W2"]
    assert set(body["inferred"]) == {"W1", "W2", "x", "y"} and body["inferred"]["x"] == body["variables"]["x"]
    assert all(r["check"]["status"] == "ok" for r in body["results"])


def test_variables_are_written_as_declared(server):
    status, body = _post(server, "/api/derive", {"f": "logdet(X) + y.T @ p", "wrt": "X",
                                                 "shapes": {"X": "n,n:spd", "p": "m:onehot"}})
    assert status == 200 and body["text"] == "X⁻¹"
    assert body["variables"] == {"X": "n,n:spd", "p": "m:onehot", "y": "m"}


def test_a_hessian_in_latex_syntax(server):
    status, body = _post(server, "/api/derive", {"f": r"\frac{1}{2} \| A x - b \|^2", "wrt": "x", "order": 2,
                                                 "syntax": "latex", "shapes": {"A": "m,n", "x": "n", "b": "m"}})
    assert status == 200 and body["kind"] == "hessian" and body["text"] == "Aᵀ A"


def test_verify_says_how_a_claim_is_wrong(server):
    status, body = _post(server, "/api/verify", {"f": "x.T @ A @ x", "wrt": "x", "claimed": "2 * A @ x"})
    assert status == 200
    assert body["correct"] is False and "symmetric" in body["message"] and "counter-example" in body["text"]
    assert body["counterexample"] and body["latex"].startswith(r"\begin{aligned}")
    assert body["head"] == "wrong (missing term)" and body["claim"] == {"text": "2 A x", "latex": "2 A x"}
    assert body["answer"]["text"] == "(A + Aᵀ) x"
    status, body = _post(server, "/api/verify", {"f": "x.T @ A @ x", "wrt": "x", "claimed": "(A + A.T) @ x"})
    assert body["correct"] is True and body["proved"] is True


@pytest.mark.parametrize("body, status, kind, position", [
    ({"f": "x.T @@ A", "wrt": "x"}, 422, "ParseError", 5),
    ({"f": "A @ x", "wrt": "x", "shapes": {"A": "n,m", "x": "k"}}, 422, "ShapeError", 2),
    ({"f": "x.T @ x", "wrt": "z"}, 422, "UnknownNameError", None),
    ({"f": "x.T @ x"}, 400, "RequestError", None),
    ({"f": "x.T @ x", "wrt": "x", "order": 3}, 400, "RequestError", None),
    ({"f": "x.T @ x", "wrt": "x", "colour": "red"}, 400, "RequestError", None),
    ({"f": 3, "wrt": "x"}, 400, "RequestError", None),
    ({"f": "x.T @ x", "wrt": "x", "shapes": {"x": "n:purple"}}, 422, "PropertyError", None),
])
def test_errors_are_json_with_a_status_type_and_position(server, body, status, kind, position):
    got_status, got = _post(server, "/api/derive", body)
    assert got_status == status
    assert got["error"]["type"] == kind and got["error"]["message"]
    assert got["error"]["position"] == position


def test_the_server_refuses_what_it_does_not_serve(server):
    assert _request(server, "POST", "/api/derive", raw=b"f=x", headers={"Content-Type": "text/plain"})[0] == 415
    assert _request(server, "POST", "/api/derive", raw=b"x" * (MAX_BODY + 1))[0] == 413
    assert _request(server, "POST", "/api/derive", raw=b"{not json")[0] == 400
    assert _request(server, "GET", "/api/derive")[0] == 405
    assert _request(server, "GET", "/", headers={"Host": "attacker.example:80"})[0] == 403   # DNS rebinding
    assert _request(server, "GET", "/static/../server.py")[0] == 404
    assert _request(server, "GET", "/static/%2e%2e/server.py")[0] == 404
    assert _request(server, "GET", "/nowhere")[0] == 404


def test_the_page_and_katex_are_served_from_the_package(server):
    status, headers, page = _request(server, "GET", "/?f=x&wrt=x")
    assert status == 200 and b"/static/katex/katex.min.js" in page and b"http" not in page.split(b"<body>")[0]
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for path, kind in [("/static/app.js", "text/javascript"), ("/static/katex/katex.min.css", "text/css"),
                       ("/static/katex/fonts/KaTeX_Main-Regular.woff2", "font/woff2"),
                       ("/static/katex/LICENSE", "text/plain")]:
        status, headers, data = _request(server, "GET", path)
        assert status == 200 and headers["Content-Type"].startswith(kind) and data


def test_a_derivation_past_the_time_limit_is_stopped_and_the_pool_goes_on():
    pool = WorkerPool(1, time_limit=0.001)
    try:
        status, body = pool.call("derive", {"f": "x.T @ A @ x", "wrt": "x"})
        assert status == 422 and body["error"]["type"] == "LimitError" and "longer than" in body["error"]["message"]
        pool.time_limit = 60.0   # the replacement worker answers
        status, body = pool.call("derive", {"f": "x.T @ A @ x", "wrt": "x"})
        assert status == 200 and body["text"] == "(A + Aᵀ) x"
    finally:
        pool.close()


def test_a_hessian_vector_product_gets_a_direction_shaped_like_the_variable(server):
    shapes = {"X": "N,n", "y": "N", "w": "n"}
    status, body = _post(server, "/api/derive", {"f": "sum(log(1 + exp(-y * (X @ w))))", "wrt": "w",
                                                 "order": "hvp", "shapes": shapes})
    g = mc.hvp("sum(log(1 + exp(-y * (X @ w))))", "w", mc.vector("v", "n"), shapes)
    assert status == 200 and body["kind"] == "hvp" and body["text"] == str(g)
    assert body["variables"]["v"] == "n" and body["check"]["status"] == "ok"
    assert body["steps"]["text"].startswith("Hessian-vector product of sum(log(1 + exp(-y * (X @ w)))) w.r.t. w")
    status, body = _post(server, "/api/derive", {"f": "x.T @ A @ x + v.T @ x", "wrt": "x", "order": "hvp"})
    assert status == 200 and body["text"] == "(A + Aᵀ) v₁"   # v is taken: the direction is v1


@pytest.mark.parametrize("f, syntax", [("x.T @ A @ x", "numpy"), ("x'*A*x", "matlab"), (r"x^\top A x", "latex"),
                                       ("xᵀ A x", "text"), ("x^T A x", "latex")])
def test_auto_syntax_reads_each_notation_and_says_which(server, f, syntax):
    status, body = _post(server, "/api/derive", {"f": f, "wrt": "x", "syntax": "auto"})
    assert status == 200 and body["syntax"] == syntax and body["text"] == "(A + Aᵀ) x"


def test_notation_hints_come_with_the_answer(server):
    status, body = _post(server, "/api/derive", {"f": "x.T * A * x", "wrt": "x", "shapes": {"A": "n,n", "x": "n"}})
    assert status == 200 and any("the matrix product is '@'" in note for note in body["notes"])
    status, body = _post(server, "/api/derive", {"f": "x.T @ A @ x", "wrt": "x"})
    assert body["notes"] == []


def test_repeated_requests_are_answered_from_the_cache(server):
    request = {"f": "trace(A @ X @ B)", "wrt": "X", "shapes": {"A": "p,m", "X": "m,n", "B": "n,p"}}
    before = len(server.answers.items)
    first = _post(server, "/api/derive", request)
    second = _post(server, "/api/derive", dict(reversed(list(request.items()))))   # the same request
    assert first == second and first[0] == 200 and len(server.answers.items) == before + 1


def test_a_staged_program_with_auto_syntax(server):
    status, body = _post(server, "/api/derive", {"f": "h = tanh(W @ x)\nL = 0.5 * norm2(h - y) ** 2", "wrt": "W",
                                                 "syntax": "auto"})
    assert status == 200 and body["syntax"] == "numpy" and body["text"] == "((1 − h∘²) ⊙ (h − y)) xᵀ"
