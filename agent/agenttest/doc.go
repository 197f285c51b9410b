// Package agenttest helps tests drive a host agent: Start serves a Backend
// on a real unix socket or loopback port and returns a connected client, and
// Fake is an in-memory Backend for unit tests of code above the agent (the
// handlers, the executor's logic). End-to-end tests use the real local
// backend (agent/local) instead of Fake.
//
// Imports: agent and proto only.
package agenttest
