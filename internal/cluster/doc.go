// Package cluster holds the suites that need more than one database
// server: a MariaDB Galera cluster of three nodes and a primary with a read
// replica, started on loopback by .ci/cluster.sh (see docs/OPERATIONS.md).
// They skip when those are not configured, and fail when
// TEST_CLUSTER_REQUIRED=1 (as CI sets it).
package cluster
