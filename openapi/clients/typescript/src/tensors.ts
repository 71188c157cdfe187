/**
 * Typed arrays to and from the wire: inputs sent as base64 of their little-endian bytes, answers read back into
 * typed arrays (Float32Array, Float64Array, BigInt64Array for int64, Uint8Array of 0/1 for bool).
 */

export type DType = "float32" | "float64" | "int64" | "bool";
export type TypedData = Float32Array | Float64Array | BigInt64Array | Uint8Array;
export type Nested = number | boolean | Nested[];
/** What a tensor can be made of: a typed array (flat; give `shape`), a number, or nested lists of numbers. */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array |
  Uint8Array | Uint16Array | Uint32Array | Nested;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const ITEM_SIZE: Record<DType, number> = { float32: 4, float64: 8, int64: 8, bool: 1 };

/** A program input or constant: a flat typed array with its shape and dtype, sent as base64. */
export class Tensor {
  constructor(
    readonly data: TypedData,
    readonly shape: number[],
    readonly dtype: DType,
    readonly requires_grad = false,
  ) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new RangeError(`${data.length} items do not fill shape [${shape}]`);
  }

  toWire(): { b64: string; dtype: DType; shape: number[]; requires_grad?: boolean } {
    const body = { b64: toBase64(bytesOf(this.data)), dtype: this.dtype, shape: [...this.shape] };
    return this.requires_grad ? { ...body, requires_grad: true } : body;
  }
}

function flatItems(value: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const v of value) flatItems(v, out);
  else out.push(value);
  return out;
}

function flatten(value: Nested): { items: (number | boolean)[]; shape: number[] } {
  const shape: number[] = [];
  let level: Nested = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as Nested;
  }
  const items = flatItems(value) as (number | boolean)[];
  if (items.length !== shape.reduce((a, b) => a * b, 1)) throw new RangeError("ragged nested lists");
  return { items, shape };
}

function convert(values: ArrayLike<number | bigint | boolean>, dtype: DType): TypedData {
  const n = values.length;
  switch (dtype) {
    case "float32":
      return Float32Array.from({ length: n }, (_, i) => Number(values[i]));
    case "float64":
      return Float64Array.from({ length: n }, (_, i) => Number(values[i]));
    case "int64":
      return BigInt64Array.from({ length: n }, (_, i) => {
        const v = values[i];
        return typeof v === "bigint" ? v : BigInt(Math.trunc(Number(v)));
      });
    case "bool":
      return Uint8Array.from({ length: n }, (_, i) => (values[i] ? 1 : 0));
  }
}

function dtypeOf(data: TensorData): DType {
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Float32Array) return "float32";
  if (ArrayBuffer.isView(data)) return "int64"; // BigInt64Array and every integer array
  const { items } = flatten(data);
  return items.length > 0 && items.every((v) => typeof v === "boolean") ? "bool" : "float32";
}

/**
 * A tensor. A typed array keeps its dtype (integer arrays become int64) and is 1-D unless `shape` is given;
 * numbers and nested lists follow the server's rule for JSON data: float32, or bool when every item is a boolean.
 * `dtype` converts.
 */
export type TensorOptions = { requires_grad?: boolean; dtype?: DType; shape?: number[] };

export function tensor(data: TensorData, options: TensorOptions = {}): Tensor {
  const dtype = options.dtype ?? dtypeOf(data);
  let values: ArrayLike<number | bigint | boolean>;
  let shape: number[];
  if (ArrayBuffer.isView(data)) {
    values = data as ArrayLike<number | bigint>;
    shape = options.shape ?? [data.length];
  } else {
    const flat = flatten(data);
    values = flat.items;
    shape = options.shape ?? flat.shape;
  }
  const same =
    (dtype === "float64" && values instanceof Float64Array) ||
    (dtype === "float32" && values instanceof Float32Array) ||
    (dtype === "int64" && values instanceof BigInt64Array);
  const typed = same ? (values as TypedData) : convert(values, dtype);
  return new Tensor(typed, shape, dtype, options.requires_grad ?? false);
}

function bytesOf(data: TypedData): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1 ? bytes : swapped(bytes, data.BYTES_PER_ELEMENT);
}

function swapped(bytes: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width) for (let j = 0; j < width; j++) out[i + j] = bytes[i + width - 1 - j]!;
  return out;
}

type Base64Host = {
  Buffer?: { from(data: Uint8Array | string, encoding?: string): Uint8Array & { toString(encoding: string): string } };
};
const host = globalThis as unknown as Base64Host;

export function toBase64(bytes: Uint8Array): string {
  if (host.Buffer) return host.Buffer.from(bytes).toString("base64");
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export function fromBase64(text: string): Uint8Array {
  // a fresh buffer: typed array views need their element alignment, which Node's pooled Buffers do not promise
  const decoded = host.Buffer ? host.Buffer.from(text, "base64") : Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const out = new Uint8Array(decoded.length);
  out.set(decoded);
  return out;
}

/** An answer's `data` or `grad`: base64 (the client asks for it) or, from other callers, nested lists. */
export function decode(value: unknown, dtype: DType, shape: number[]): TypedData {
  if (typeof value === "object" && value !== null && "b64" in value) {
    let bytes = fromBase64((value as { b64: string }).b64);
    const size = ITEM_SIZE[dtype];
    if (!LITTLE_ENDIAN && size > 1) bytes = swapped(bytes, size);
    const buffer = bytes.buffer;
    if (dtype === "float32") return new Float32Array(buffer);
    if (dtype === "float64") return new Float64Array(buffer);
    if (dtype === "int64") return new BigInt64Array(buffer);
    return bytes;
  }
  const items = flatItems(value);
  const named: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
  const numbers = items.map((v) => (typeof v === "string" && v in named ? named[v] : v));
  if (numbers.length !== shape.reduce((a, b) => a * b, 1)) throw new RangeError("answer does not fill its shape");
  return convert(numbers as (number | boolean)[], dtype);
}

/** Flat values as nested lists of the given shape (a number for shape []); int64 as numbers. */
export function toNested(values: TypedData, shape: number[]): Nested {
  const item = (i: number): number => Number(values[i]);
  const build = (offset: number, dim: number): Nested => {
    if (dim === shape.length) return item(offset);
    const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: shape[dim]! }, (_, i) => build(offset + i * stride, dim + 1));
  };
  return build(0, 0);
}

type WireVariable = {
  shape: number[];
  dtype: DType;
  requires_grad: boolean;
  is_leaf: boolean;
  grad_fn?: string | null;
  data: unknown;
  grad?: unknown;
};

/** A variable as the server answered it: typed-array `data` and `grad` (null until a backward reaches it). */
export class Variable {
  constructor(
    readonly name: string,
    readonly shape: number[],
    readonly dtype: DType,
    readonly requires_grad: boolean,
    readonly is_leaf: boolean,
    readonly grad_fn: string | null,
    readonly data: TypedData,
    readonly grad: TypedData | null,
  ) {}

  static fromWire(name: string, v: WireVariable): Variable {
    const grad = v.grad === null || v.grad === undefined ? null : decode(v.grad, v.dtype, v.shape);
    return new Variable(name, v.shape, v.dtype, v.requires_grad, v.is_leaf, v.grad_fn ?? null,
      decode(v.data, v.dtype, v.shape), grad);
  }

  /** The value of a single-element variable. */
  item(): number {
    if (this.data.length !== 1) throw new RangeError(`${this.name} has ${this.data.length} elements, not one`);
    return Number(this.data[0]);
  }

  /** `data` (or `grad`) as nested lists, as the server would write them in JSON. */
  toList(which: "data" | "grad" = "data"): Nested | null {
    const values = which === "data" ? this.data : this.grad;
    return values === null ? null : toNested(values, this.shape);
  }
}

/**
 * A tensor-valued field for a request: Tensors and typed arrays as base64, anything else (a name, lists) as is;
 * a NaN or infinite number, or lists holding one, as base64 too, since JSON.stringify would write null.
 */
export function toWire(value: unknown): unknown {
  if (value instanceof Tensor) return value.toWire();
  if (ArrayBuffer.isView(value)) return tensor(value as TensorData).toWire();
  const nonFinite = (v: unknown) => typeof v === "number" && !Number.isFinite(v);
  if ((typeof value === "number" || Array.isArray(value)) && flatItems(value).some(nonFinite)) {
    return tensor(value as Nested).toWire();
  }
  return value;
}

/** A program input: anything array-like becomes a base64 tensor; a wire-form object is sent as given. */
export function inputToWire(value: unknown): unknown {
  if (value instanceof Tensor || ArrayBuffer.isView(value)) return toWire(value);
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  return tensor(value as Nested).toWire();
}
