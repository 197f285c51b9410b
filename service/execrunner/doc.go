// Package execrunner plugs executor.Build into the build service: it is the
// service.Runner that places each build on one of several agents (the
// seed's scheduler: the agent with the fewest running builds, then the
// most free memory) and maps the executor's progress to service events.
// An agent that stops answering is marked down for a while and the build
// is handed back to the service to be re-queued, not failed.
//
// It lives apart from package service so that the service's queue, records
// and API build and test without the executor.
package execrunner
