/*
 * OpenTelemetry metrics for the example backend, served for Prometheus.
 *
 * Load it before the backend with `node --require ./src/instrumentation.js`
 * (`backstage-cli package start --require ./src/instrumentation.js` in
 * development), as in Backstage's "Setup OpenTelemetry" tutorial: meters are
 * taken from the global meter provider when plugins start, so it has to be
 * registered first. Backstage's MetricsService (the keycloak-oidc module's
 * `keycloak_oidc.*` instruments, scope `backstage-plugin-auth`) and plugins
 * that use `@opentelemetry/api` directly (the catalog) all end up here.
 *
 * PROMETHEUS_PORT: port of the scrape endpoint (default 9464), path /metrics;
 * PROMETHEUS_HOST: interface to listen on (default: all);
 * PROMETHEUS_PORT=off: no exporter.
 */
const { isMainThread } = require('node:worker_threads');

// once per process: not again in worker threads
if (isMainThread && process.env.PROMETHEUS_PORT !== 'off') {
  const { metrics } = require('@opentelemetry/api');
  const { MeterProvider } = require('@opentelemetry/sdk-metrics');
  const { PrometheusExporter } = require('@opentelemetry/exporter-prometheus');

  const port = Number(process.env.PROMETHEUS_PORT || 9464);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(
      `PROMETHEUS_PORT must be a port number or "off", got "${process.env.PROMETHEUS_PORT}"`,
    );
  }
  const host = process.env.PROMETHEUS_HOST || undefined;
  const exporter = new PrometheusExporter(
    { port, host, endpoint: '/metrics' },
    error => {
      if (error) {
        // The backend runs on without metrics rather than not at all
        console.error(
          `Prometheus exporter could not listen on port ${port}: ${error.message}`,
        );
      } else {
        console.log(
          `Prometheus metrics on http://${host ?? 'localhost'}:${port}/metrics`,
        );
      }
    },
  );
  const meterProvider = new MeterProvider({ readers: [exporter] });
  metrics.setGlobalMeterProvider(meterProvider);

  // The event loop's delay (p99 since the previous scrape), named as
  // OpenTelemetry's Node.js runtime conventions name it: the first sign of
  // a backend that cannot keep up, before latency shows it.
  const { monitorEventLoopDelay } = require('node:perf_hooks');
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  meterProvider
    .getMeter('example-backend-runtime')
    .createObservableGauge('nodejs.eventloop.delay.p99', {
      unit: 's',
      description: 'Event loop delay, 99th percentile since the last scrape',
    })
    .addCallback(result => {
      result.observe(delay.percentile(99) / 1e9);
      delay.reset();
    });
}
