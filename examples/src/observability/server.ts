/**
 * The Express example authorization server with metrics and spans, both fed by jwt-bearer's
 * tracing channels only:
 *
 *   npm run build && node examples/dist/observability/server.js
 *   curl http://127.0.0.1:3000/metrics          # Prometheus text format
 *
 * Spans are printed to the console by the OpenTelemetry SDK's ConsoleSpanExporter; a real
 * deployment registers its own exporter (OTLP, a vendor's) and keeps the rest as is.
 */
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import { serverOptions } from 'express-jwt-bearer';
import { runMain } from '../authorization-server';
import { createApp } from '../express-server';
import { jwtBearerMetrics } from './metrics';
import { jwtBearerTracing, withRequestInfo } from './tracing';

if (require.main === module) {
  const metrics = jwtBearerMetrics();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] });
  jwtBearerTracing(provider.getTracer('jwt-bearer-example'));

  const app = express();
  app.get('/metrics', (_req, res) => {
    metrics.registry.metrics().then(
      (text) => res.type(metrics.registry.contentType).send(text),
      (err: unknown) => res.status(500).send(String(err)),
    );
  });
  // Each request is served with its peer address at hand, for the spans' client.address.
  runMain('Express (observability)', (as) => withRequestInfo(createApp(as, app)), serverOptions(app)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
