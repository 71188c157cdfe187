#!/usr/bin/env bash
# The seed autograd tutorial with curl alone; python3 reads the JSON answers (jq is often not installed).
#
#   examples/curl.sh [BASE_URL]     (or GRADSERVE_URL; default http://127.0.0.1:8000)
set -euo pipefail

BASE=${1:-${GRADSERVE_URL:-http://127.0.0.1:8000}}
BODY=$(mktemp)
SID=""
cleanup() {
    if [ -n "$SID" ]; then curl -sS -o /dev/null -X DELETE "$BASE/v1/sessions/$SID" || true; fi
    rm -f "$BODY"
}
trap cleanup EXIT

# request METHOD PATH [JSON]: the answer goes to $BODY; fails unless the status is EXPECT (default 2xx)
request() {
    local status
    status=$(curl -sS -o "$BODY" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
        ${3:+--data "$3"} "$BASE$2")
    local ok=0
    if [ -n "${EXPECT:-}" ]; then [ "$status" = "$EXPECT" ] && ok=1; else [ "${status:0:1}" = 2 ] && ok=1; fi
    if [ "$ok" = 0 ]; then
        echo "$1 $2: HTTP $status, expected ${EXPECT:-2xx}: $(cat "$BODY")" >&2
        return 1
    fi
}

# show NAME [ATTR...]: print the variable's data, grad and grad_fn from the last answer, four decimals
show() {
    python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
name, attrs = sys.argv[2], sys.argv[3:] or ["data", "grad", "grad_fn"]
def rounded(v):
    return [rounded(x) for x in v] if isinstance(v, list) else round(v, 4) if isinstance(v, float) else v
for attr in attrs:
    value = (doc["variables"] if "variables" in doc else doc["grads"])[name][attr]
    print(f"{name}.{attr} =", "None" if value is None else json.dumps(rounded(value)))
' "$BODY" "$@"
}

# problem: print the last answer as an error line (status, type, detail)
problem() {
    python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
print("error", p["status"], p["type"] + ":", p["detail"])' "$BODY"
}

step() { printf '\n# %s\n' "$1"; }

request POST /v1/sessions
SID=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$BODY")
S=/v1/sessions/$SID

step "In [2]-[5]: x = Variable(torch.ones(2, 2), requires_grad=True)"
request POST "$S/run" '{"inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": true}}, "return": ["x"]}'
show x

step "In [6]-[10]: y = x + 2; z = y * y * 3; out = z.mean()"
request POST "$S/run" '{"ops": [{"name": "y", "op": "add", "args": ["x", 2]},
                               {"name": "z", "op": "mul", "args": ["y", "y"]},
                               {"name": "z", "op": "mul", "args": ["z", 3]},
                               {"name": "out", "expr": "mean(z)"}]}'
show y data grad_fn
show z data grad_fn
show out data grad_fn

step "In [11]-[12]: out.backward(); x.grad"
request POST "$S/backward" '{"output": "out", "return": ["x"]}'
show x grad

step "out.backward() again: its buffers were freed (retain_graph was not set)"
EXPECT=409 request POST "$S/backward" '{"output": "out"}'
problem

step "In [14]-[15]: x = Variable(torch.ones(2, 2), requires_grad=True); y = 4 * x + 2"
request POST "$S/run" '{"inputs": {"x": {"data": [[1, 1], [1, 1]], "requires_grad": true}},
                        "ops": [{"name": "y", "expr": "4 * x + 2"}], "return": ["y"]}'
show y data grad_fn

step "y.backward() without a gradient: y is not a scalar"
EXPECT=422 request POST "$S/backward" '{"output": "y"}'
problem

step "In [16]-[17]: y.backward(torch.ones(2, 2), retain_graph=True); x.grad"
request POST "$S/backward" '{"output": "y", "gradient": [[1, 1], [1, 1]], "retain_graph": true, "return": ["x"]}'
show x grad

step "In [18]: z = y * y"
request POST "$S/run" '{"ops": [{"name": "z", "expr": "y * y"}], "return": ["z"]}'
show z data grad_fn

step "In [19]-[20]: y.backward(gradient, retain_graph=True); x.grad (accumulates 4 + 4 * gradient)"
GRADIENT='[[1.0932, 1.9507], [-1.0305, -0.7468]]'
echo "gradient = $GRADIENT"
request POST "$S/backward" "{\"output\": \"y\", \"gradient\": $GRADIENT, \"retain_graph\": true, \"return\": [\"x\"]}"
show x grad

step "In [21]-[22]: x = Variable(torch.randn(3), requires_grad=True); y = x * 2"
request POST "$S/run" '{"inputs": {"x": {"data": [1.3570, -0.3653, 0.6265], "requires_grad": true}},
                        "ops": [{"name": "y", "op": "mul", "args": ["x", 2]}], "return": ["x", "y"]}'
show x data
show y data grad_fn

step "In [23]: while y.data.norm() < 1000: y = y * 2"
while python3 -c 'import json, math, sys
sys.exit(math.hypot(*json.load(open(sys.argv[1]))["variables"]["y"]["data"]) >= 1000)' "$BODY"; do
    request POST "$S/run" '{"ops": [{"name": "y", "op": "mul", "args": ["y", 2]}], "return": ["y"]}'
done
show y data grad_fn

step "In [24]-[25]: y.backward(torch.FloatTensor([0.1, 1.0, 0.0001])); x.grad"
request POST "$S/backward" '{"output": "y", "gradient": [0.1, 1.0, 0.0001], "return": ["x"]}'
show x grad

step "Higher order: x = 3; y = x ** 3; dydx = torch.autograd.grad(y, x, create_graph=True)"
request POST "$S/run" '{"inputs": {"x": {"data": 3.0, "requires_grad": true}}, "ops": [{"name": "y", "expr": "x ** 3"}]}'
request POST "$S/grad" '{"outputs": "y", "inputs": "x", "create_graph": true, "bind": "dydx"}'
show dydx data grad_fn

step "dydx.backward(); x.grad (d2y/dx2 = 6x)"
request POST "$S/backward" '{"output": "dydx", "return": ["x"]}'
show x grad
