package app

import (
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the Prometheus series the service exports at /metrics. Labels
// are schema field names, routes and codes: a bounded set.
type metrics struct {
	reg        *prometheus.Registry
	operations *prometheus.CounterVec
	opLatency  *prometheus.HistogramVec
	requests   *prometheus.CounterVec
}

func newMetrics(db *sql.DB) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "unionhall_graphql_operations_total",
			Help: "GraphQL operations by root field and outcome (ok or the error code).",
		}, []string{"operation", "outcome"}),
		opLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "unionhall_graphql_operation_duration_seconds",
			Help:    "GraphQL operation latency by root field.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"operation"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "unionhall_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "status"}),
	}
	reg.MustRegister(m.operations, m.opLatency, m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db, "main"))
	return m
}

func (m *metrics) observeOperation(op, outcome string, d time.Duration) {
	m.operations.WithLabelValues(op, outcome).Inc()
	m.opLatency.WithLabelValues(op).Observe(d.Seconds())
}
