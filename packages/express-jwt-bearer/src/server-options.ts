import { IncomingMessage, ServerResponse, type ServerOptions } from 'node:http';

/** What {@link serverOptions} returns: the request and response classes, for `http.createServer` / `https.createServer`. */
export type ExpressServerOptions = Pick<ServerOptions, 'IncomingMessage' | 'ServerResponse'>;

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
    throw new TypeError(`serverOptions(app): app.${name} must be an object that inherits from http.${name === 'request' ? 'IncomingMessage' : 'ServerResponse'}.prototype; pass the Express application itself (what express() returned)`);
  }
  return prototype;
}

/**
 * Options for `http.createServer` / `https.createServer` under which the server builds every
 * request and response on the Express app's own prototypes (`app.request`, `app.response`), so
 * that the prototype swap Express makes on every request (`Object.setPrototypeOf`) has nothing
 * left to do.
 *
 * Why: on the V8 of Node.js 20, every property added to an object after its prototype was
 * swapped gives that object a hidden class of its own. Express and its router add several to
 * each `req` and `res` right after the swap, so no two requests share a shape, and every
 * property access on them (in Express, in Node's HTTP code, in every middleware) misses V8's
 * caches. On the benchmark machine an Express no-op route serves ≈ 3× the requests per second
 * with these options, and a token route with `clientAssertion()` ≈ 2×. Behaviour is
 * unchanged: Express still sets the same prototypes, `req instanceof http.IncomingMessage`
 * still holds, and mounted sub-apps still swap to their own prototypes (only the requests they
 * handle then miss the speed-up).
 *
 * Pass the application the server serves. The classes are made once per application; calling
 * again returns the same options. Where Node's request or response constructor is an ES class
 * (not the case in Node.js 20), returns `{}`, Node's defaults.
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
  const options = classesOn(request, response);
  made.set(app, options);
  return options;
}

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
  function ExpressRequest(this: IncomingMessage, ...args: ConstructorParameters<typeof IncomingMessage>): void {
    Request.apply(this, args);
  }
  ExpressRequest.prototype = request;
  function ExpressResponse(this: ServerResponse, ...args: ConstructorParameters<typeof ServerResponse>): void {
    Response.apply(this, args);
  }
  ExpressResponse.prototype = response;
  return {
    IncomingMessage: ExpressRequest as unknown as typeof IncomingMessage,
    ServerResponse: ExpressResponse as unknown as typeof ServerResponse,
  };
}
