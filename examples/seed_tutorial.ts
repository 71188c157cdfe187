// The seed autograd tutorial (PyTorch 0.x, `Variable`) on a gradserve server, through the TypeScript client.
//
//   npm --prefix openapi/clients/typescript run example -- [BASE_URL]   (or GRADSERVE_URL; default :8000)
//
// Each step prints what the notebook printed: a variable's data, grad and grad_fn.
import { Gradserve, GradserveError, type Result, type Session, toNested, type Variable } from "gradserve-client";

// In [19]: the notebook's torch.randn(2, 2)
const GRADIENT = [[1.0932, 1.9507], [-1.0305, -0.7468]];

type Attr = "data" | "grad" | "grad_fn";

// four decimals, as the notebook printed tensors
function rounded(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rounded);
  return typeof value === "number" ? Math.round(value * 1e4) / 1e4 : value;
}

function show(v: Variable, attrs: Attr[] = ["data", "grad", "grad_fn"]): void {
  for (const attr of attrs) {
    const value = attr === "grad_fn" ? v.grad_fn : v[attr] === null ? null : toNested(v[attr]!, v.shape);
    console.log(`${v.name}.${attr} = ${value === null ? "None" : JSON.stringify(rounded(value))}`);
  }
}

function step(title: string): void {
  console.log(`\n# ${title}`);
}

async function refused(request: Promise<unknown>): Promise<void> {
  try {
    await request;
  } catch (e) {
    if (!(e instanceof GradserveError)) throw e;
    console.log(`error ${e.status} ${e.type}: ${e.detail}`);
    return;
  }
  throw new Error("expected an error answer, got a success");
}

async function tutorial(gs: Gradserve, s: Session): Promise<void> {
  step("In [2]-[5]: x = Variable(torch.ones(2, 2), requires_grad=True)");
  show((await s.run({ inputs: { x: gs.tensor([[1, 1], [1, 1]], { requires_grad: true }) } })).get("x"));

  step("In [6]-[10]: y = x + 2; z = y * y * 3; out = z.mean()");
  let r: Result = await s.run({
    ops: [
      { name: "y", op: "add", args: ["x", 2] },
      { name: "z", op: "mul", args: ["y", "y"] },
      { name: "z", op: "mul", args: ["z", 3] },
      { name: "out", expr: "mean(z)" },
    ],
  });
  for (const name of ["y", "z", "out"]) show(r.get(name), ["data", "grad_fn"]);

  step("In [11]-[12]: out.backward(); x.grad");
  show((await s.backward("out")).get("x"), ["grad"]);

  step("out.backward() again: its buffers were freed (retain_graph was not set)");
  await refused(s.backward("out"));

  step("In [14]-[15]: x = Variable(torch.ones(2, 2), requires_grad=True); y = 4 * x + 2");
  r = await s.run({
    inputs: { x: gs.tensor([[1, 1], [1, 1]], { requires_grad: true }) },
    ops: [{ name: "y", expr: "4 * x + 2" }],
  });
  show(r.get("y"), ["data", "grad_fn"]);

  step("y.backward() without a gradient: y is not a scalar");
  await refused(s.backward("y"));

  step("In [16]-[17]: y.backward(torch.ones(2, 2), retain_graph=True); x.grad");
  await s.backward("y", { gradient: gs.tensor([[1, 1], [1, 1]]), retain_graph: true });
  show(await s.variable("x"), ["grad"]);

  step("In [18]: z = y * y");
  show((await s.run({ ops: [{ name: "z", expr: "y * y" }] })).get("z"), ["data", "grad_fn"]);

  step("In [19]-[20]: y.backward(gradient, retain_graph=True); x.grad (accumulates 4 + 4 * gradient)");
  console.log(`gradient = ${JSON.stringify(GRADIENT)}`);
  await s.backward("y", { gradient: gs.tensor(GRADIENT), retain_graph: true });
  show(await s.variable("x"), ["grad"]);

  step("In [21]-[22]: x = Variable(torch.randn(3), requires_grad=True); y = x * 2");
  r = await s.run({
    inputs: { x: gs.tensor([1.357, -0.3653, 0.6265], { requires_grad: true }) },
    ops: [{ name: "y", op: "mul", args: ["x", 2] }],
  });
  show(r.get("x"), ["data"]);
  show(r.get("y"), ["data", "grad_fn"]);

  step("In [23]: while y.data.norm() < 1000: y = y * 2");
  let y = r.get("y");
  while (Math.hypot(...Array.from(y.data, Number)) < 1000) {
    y = (await s.run({ ops: [{ name: "y", op: "mul", args: ["y", 2] }] })).get("y");
  }
  show(y, ["data", "grad_fn"]);

  step("In [24]-[25]: y.backward(torch.FloatTensor([0.1, 1.0, 0.0001])); x.grad");
  await s.backward("y", { gradient: new Float32Array([0.1, 1.0, 0.0001]) });
  show(await s.variable("x"), ["grad"]);

  step("Higher order: x = 3; y = x ** 3; dydx = torch.autograd.grad(y, x, create_graph=True)");
  await s.run({ inputs: { x: gs.tensor(3, { requires_grad: true }) }, ops: [{ name: "y", expr: "x ** 3" }] });
  const { dydx } = await s.grad("y", "x", { create_graph: true, bind: "dydx" });
  show(dydx!, ["data", "grad_fn"]);

  step("dydx.backward(); x.grad (d2y/dx2 = 6x)");
  await s.backward("dydx");
  show(await s.variable("x"), ["grad"]);
}

const gs = new Gradserve(process.argv[2]); // else GRADSERVE_URL, else http://127.0.0.1:8000
// the session is deleted when the tutorial ends, however it ends
gs.withSession(undefined, (s) => tutorial(gs, s)).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
