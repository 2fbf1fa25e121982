import { IncomingMessage, ServerResponse, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';

/** Node's request and response constructors as the plain functions they are (the typings declare classes, and the response's with `req` only, though Node also passes options). */
type NodeConstructor = (this: unknown, ...args: unknown[]) => void;

/** What {@link serverOptions} returns: the request and response classes, for `http.createServer` / `https.createServer`. */
export type ExpressServerOptions = Readonly<Pick<ServerOptions, 'IncomingMessage' | 'ServerResponse'>>;

/** The part of an Express application that {@link serverOptions} reads: the prototypes it gives every request and response. */
export interface ExpressPrototypes {
  /** `app.request`: the prototype Express gives every `req` (inherits from `http.IncomingMessage.prototype`). */
  readonly request: object;
  /** `app.response`: the prototype Express gives every `res` (inherits from `http.ServerResponse.prototype`). */
  readonly response: object;
}

const made = new WeakMap<object, ExpressServerOptions>();

/** True when `fn` is an ES class, which cannot be called as a function on an existing object. */
function isClass(fn: unknown): boolean {
  return typeof fn === 'function' && /^class\b/.test(Function.prototype.toString.call(fn));
}

function check(prototype: unknown, base: object, name: string): object {
  if ((typeof prototype !== 'object' && typeof prototype !== 'function') || prototype === null || !Object.prototype.isPrototypeOf.call(base, prototype)) {
    throw new TypeError(
      `serverOptions(app): app.${name} must be an object that inherits from http.${name === 'request' ? 'IncomingMessage' : 'ServerResponse'}.prototype; pass the Express application itself (what express() returned)`,
    );
  }
  return prototype;
}

/**
 * Options for `http.createServer` / `https.createServer` under which the server builds every
 * request and response on the Express app's own prototypes (`app.request`, `app.response`), so
 * that the prototype swap Express makes on every request (`Object.setPrototypeOf`) has nothing
 * left to do.
 *
 * Why: on the V8 of Node.js 20 and 22, every property added to an object after its prototype
 * was swapped gives that object a hidden class of its own. Express and its router add several
 * to each `req` and `res` right after the swap, so no two requests share a shape, and every
 * property access on them (in Express, in Node's HTTP code, in every middleware) misses V8's
 * caches. On the benchmark machine an Express no-op route serves ≈ 3× the requests per second
 * with these options on Node 20 (≈ 80 µs of CPU saved per request), ≈ 2.6× on Node 22. The V8
 * of Node.js 24 and later keeps one shape for such objects; there neither a gain nor a loss
 * stands out of the benchmark machine's noise, so the same code can serve every line.
 *
 * Express behaves the same: it still sets the same prototypes, `req instanceof
 * http.IncomingMessage` still holds, and mounted sub-apps still swap to their own prototypes
 * (only the requests they handle then miss the speed-up). Code that sees `req` before Express
 * (`upgrade`, `connect` and `checkContinue` handlers, `request` listeners added ahead of the
 * app) now finds Express's accessors on it, such as the `req.query` and `req.path` getters.
 *
 * Pass the application the server serves. The classes are made once per application; calling
 * again returns the same (frozen) options. For `http` and `https` servers: `http2`'s HTTP/1
 * fallback names these options `Http1IncomingMessage` and `Http1ServerResponse`. Where Node's
 * request or response constructor is an ES class (not the case in Node.js 20 to 26), returns `{}`,
 * Node's defaults.
 *
 * @param app - the Express application (what `express()` returned), Express 4 or 5
 * @returns `{ IncomingMessage, ServerResponse }` to pass to `http.createServer` or spread into `https.createServer`'s options
 * @throws TypeError when `app` is not an Express application
 *
 * @example
 * const app = express();
 * app.post('/token', clientAssertion({ issuer, clients }), clientCredentials);
 * http.createServer(serverOptions(app), app).listen(8080);
 * // or: https.createServer({ key, cert, ...serverOptions(app) }, app)
 */
export function serverOptions(app: ExpressPrototypes): ExpressServerOptions {
  if ((typeof app !== 'function' && typeof app !== 'object') || app === null) {
    throw new TypeError('serverOptions(app): app must be the Express application (what express() returned)');
  }
  const known = made.get(app);
  if (known) return known;
  const request = check(app.request, IncomingMessage.prototype, 'request');
  const response = check(app.response, ServerResponse.prototype, 'response');
  // Frozen: every caller for this app gets the same object.
  const options = Object.freeze(classesOn(request, response));
  made.set(app, options);
  return options;
}

/** What the constructors below may assign to: Node's fields, and the size hint's. */
type Fields = Record<string, unknown>;

/** Never switched on (a property, so that no minifier removes the blocks it guards as dead code). */
const sizeHint = { on: false };

/**
 * The request and response classes whose instances start with `request` / `response` as their
 * prototype, built on Node's constructors (`Request`, `Response`; parameters for the tests); `{}`
 * when either is an ES class.
 *
 * @internal
 */
export function classesOn(request: object, response: object, Request = IncomingMessage, Response = ServerResponse): ExpressServerOptions {
  if (isClass(Request) || isClass(Response)) return {};
  // Plain constructor functions, as Node's are: `new ExpressRequest(socket)` runs Node's own
  // constructor on an object that already has the app's prototype.
  //
  // The blocks behind `sizeHint.on` never run. V8 sizes the objects a constructor function
  // builds by the `this.<name> =` assignments in its body; without them it would plan for a
  // handful of fields, and the ≈ 40 that Node's response constructor adds (many of them under
  // symbol keys) would turn every response into a slow dictionary-mode object. Measured on an
  // Express no-op route: ≈ 26k req/s without the hint, ≈ 39k with it. The test file checks that
  // requests and responses keep fast properties.
  const requestConstructor = Request as unknown as NodeConstructor;
  const responseConstructor = Response as unknown as NodeConstructor;
  function ExpressRequest(this: Fields, socket: Socket): void {
    requestConstructor.call(this, socket);
    /* istanbul ignore if: the size hint for V8, never run */
    if (sizeHint.on) {
      this.f0 = 0;
      this.f1 = 0;
      this.f2 = 0;
      this.f3 = 0;
      this.f4 = 0;
      this.f5 = 0;
      this.f6 = 0;
      this.f7 = 0;
      this.f8 = 0;
      this.f9 = 0;
      this.f10 = 0;
      this.f11 = 0;
      this.f12 = 0;
      this.f13 = 0;
      this.f14 = 0;
      this.f15 = 0;
      this.f16 = 0;
      this.f17 = 0;
      this.f18 = 0;
      this.f19 = 0;
      this.f20 = 0;
      this.f21 = 0;
      this.f22 = 0;
      this.f23 = 0;
      this.f24 = 0;
      this.f25 = 0;
      this.f26 = 0;
      this.f27 = 0;
      this.f28 = 0;
      this.f29 = 0;
      this.f30 = 0;
      this.f31 = 0;
    }
  }
  ExpressRequest.prototype = request;
  function ExpressResponse(this: Fields, req: IncomingMessage, options?: unknown): void {
    responseConstructor.call(this, req, options);
    /* istanbul ignore if: the size hint for V8, never run */
    if (sizeHint.on) {
      this.f0 = 0;
      this.f1 = 0;
      this.f2 = 0;
      this.f3 = 0;
      this.f4 = 0;
      this.f5 = 0;
      this.f6 = 0;
      this.f7 = 0;
      this.f8 = 0;
      this.f9 = 0;
      this.f10 = 0;
      this.f11 = 0;
      this.f12 = 0;
      this.f13 = 0;
      this.f14 = 0;
      this.f15 = 0;
      this.f16 = 0;
      this.f17 = 0;
      this.f18 = 0;
      this.f19 = 0;
      this.f20 = 0;
      this.f21 = 0;
      this.f22 = 0;
      this.f23 = 0;
      this.f24 = 0;
      this.f25 = 0;
      this.f26 = 0;
      this.f27 = 0;
      this.f28 = 0;
      this.f29 = 0;
      this.f30 = 0;
      this.f31 = 0;
      this.f32 = 0;
      this.f33 = 0;
      this.f34 = 0;
      this.f35 = 0;
      this.f36 = 0;
      this.f37 = 0;
      this.f38 = 0;
      this.f39 = 0;
      this.f40 = 0;
      this.f41 = 0;
      this.f42 = 0;
      this.f43 = 0;
      this.f44 = 0;
      this.f45 = 0;
      this.f46 = 0;
      this.f47 = 0;
    }
  }
  ExpressResponse.prototype = response;
  return {
    IncomingMessage: ExpressRequest as unknown as typeof IncomingMessage,
    ServerResponse: ExpressResponse as unknown as typeof ServerResponse,
  };
}
