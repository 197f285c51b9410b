package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// DefaultDebounce is how long diagnostics wait after the last keystroke:
// long enough not to re-lint on every character of a fast typist, short
// enough to feel immediate.
const DefaultDebounce = 150 * time.Millisecond

// Options configure a server. Context and CacheDir may also come from the
// client's initializationOptions ({"context": dir, "cacheDir": dir}),
// which win over these.
type Options struct {
	// Context is the build context directory; with CacheDir it enables the
	// per-step cache code lens.
	Context  string
	CacheDir string
	// BuildArgs are ARG values for computing keys in the code lens.
	BuildArgs map[string]string
	// Debounce delays diagnostics after a change (DefaultDebounce when 0).
	Debounce time.Duration
	// Log receives the server's own messages (never the protocol stream).
	Log io.Writer
	// Version is reported as serverInfo.version.
	Version string
}

// ErrNoShutdown is returned by Serve when the client sent exit without a
// shutdown request first; LSP asks for exit code 1 then.
var ErrNoShutdown = errors.New("exit without shutdown")

// Serve runs the language server on stream until the client sends exit or
// the stream ends. It returns nil after a clean shutdown and exit.
func Serve(ctx context.Context, stream io.ReadWriteCloser, opts Options) error {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	conn := jsonrpc2.NewConn(jsonrpc2.NewStream(stream))
	s := &server{
		conn:   conn,
		opts:   opts,
		log:    log.New(opts.Log, "wrenn lsp: ", log.LstdFlags),
		docs:   map[protocol.DocumentURI]*document{},
		timers: map[protocol.DocumentURI]*time.Timer{},
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn.Go(ctx, s.handle)
	select {
	case <-conn.Done():
	case <-ctx.Done():
		conn.Close()
		<-conn.Done()
	}
	s.stopTimers()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.exited && s.shutdown:
		return nil
	case s.exited:
		return ErrNoShutdown
	case ctx.Err() != nil:
		return ctx.Err()
	}
	if err := conn.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("connection: %w", err)
	}
	return nil
}

// server is one connection's state. mu guards everything below it; the
// handler runs one message at a time, debounce timers run on their own
// goroutines.
type server struct {
	conn jsonrpc2.Conn
	opts Options
	log  *log.Logger

	pubMu sync.Mutex // see publish

	mu          sync.Mutex
	docs        map[protocol.DocumentURI]*document
	timers      map[protocol.DocumentURI]*time.Timer
	initialized bool
	shutdown    bool
	exited      bool
	lens        cacheProbe // nil without a context and cache directory
}

// handler is a request or notification method's implementation; params
// arrive already decoded into P.
type handlerFunc func(s *server, ctx context.Context, params json.RawMessage) (any, error)

// methods lists every method the server implements.
var methods = map[string]handlerFunc{
	protocol.MethodInitialize:                 (*server).initialize,
	protocol.MethodInitialized:                func(*server, context.Context, json.RawMessage) (any, error) { return nil, nil },
	protocol.MethodShutdown:                   (*server).handleShutdown,
	protocol.MethodTextDocumentDidOpen:        (*server).didOpen,
	protocol.MethodTextDocumentDidChange:      (*server).didChange,
	protocol.MethodTextDocumentDidClose:       (*server).didClose,
	protocol.MethodTextDocumentDidSave:        func(*server, context.Context, json.RawMessage) (any, error) { return nil, nil },
	protocol.MethodTextDocumentHover:          (*server).hover,
	protocol.MethodTextDocumentCompletion:     (*server).completion,
	protocol.MethodTextDocumentFormatting:     (*server).formatting,
	protocol.MethodTextDocumentCodeAction:     (*server).codeAction,
	protocol.MethodTextDocumentDefinition:     (*server).definition,
	protocol.MethodTextDocumentDocumentSymbol: (*server).documentSymbol,
	protocol.MethodTextDocumentCodeLens:       (*server).codeLens,
}

func (s *server) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	method := req.Method()
	if method == protocol.MethodExit {
		s.mu.Lock()
		s.exited = true
		s.mu.Unlock()
		_ = reply(ctx, nil, nil)
		return s.conn.Close()
	}
	s.mu.Lock()
	down, initialized := s.shutdown, s.initialized
	if method == protocol.MethodInitialize {
		s.initialized = true
	}
	s.mu.Unlock()
	_, isCall := req.(*jsonrpc2.Call)
	switch {
	case down:
		return reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InvalidRequest, "server is shut down"))
	case !initialized && method != protocol.MethodInitialize:
		if !isCall {
			return nil // notifications before initialize are dropped (LSP)
		}
		return reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.ServerNotInitialized, "initialize first"))
	case initialized && method == protocol.MethodInitialize:
		return reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InvalidRequest, "initialize sent twice"))
	}
	h, ok := methods[method]
	if !ok {
		if !isCall {
			return nil // unknown notifications ($/cancelRequest, …) are ignored
		}
		return reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.MethodNotFound, "method not supported: %s", method))
	}
	res, err := h(s, ctx, req.Params())
	if err != nil {
		var rpcErr *jsonrpc2.Error
		if !errors.As(err, &rpcErr) {
			err = jsonrpc2.Errorf(jsonrpc2.InternalError, "%s: %v", method, err)
		}
		s.log.Printf("%s: %v", method, err)
	}
	return reply(ctx, res, err)
}

// decode unmarshals params into v, as an InvalidParams error on failure.
func decode(params json.RawMessage, v any) error {
	if err := json.Unmarshal(params, v); err != nil {
		return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "invalid params: %v", err)
	}
	return nil
}

// initOptions are wrenn's initializationOptions.
type initOptions struct {
	Context   string            `json:"context"`
	CacheDir  string            `json:"cacheDir"`
	BuildArgs map[string]string `json:"buildArgs"`
}

func (s *server) initialize(ctx context.Context, raw json.RawMessage) (any, error) {
	var p struct {
		InitializationOptions *initOptions `json:"initializationOptions"`
	}
	if err := decode(raw, &p); err != nil {
		return nil, err
	}
	if o := p.InitializationOptions; o != nil {
		if o.Context != "" {
			s.opts.Context = o.Context
		}
		if o.CacheDir != "" {
			s.opts.CacheDir = o.CacheDir
		}
		if o.BuildArgs != nil {
			s.opts.BuildArgs = o.BuildArgs
		}
	}
	caps := protocol.ServerCapabilities{
		TextDocumentSync: protocol.TextDocumentSyncOptions{
			OpenClose: true,
			Change:    protocol.TextDocumentSyncKindFull,
		},
		HoverProvider: true,
		CompletionProvider: &protocol.CompletionOptions{
			TriggerCharacters: []string{"-", "=", "$", "{"},
		},
		DefinitionProvider:         true,
		DocumentSymbolProvider:     true,
		DocumentFormattingProvider: true,
		CodeActionProvider: &protocol.CodeActionOptions{
			CodeActionKinds: []protocol.CodeActionKind{protocol.QuickFix},
		},
	}
	if s.opts.Context != "" && s.opts.CacheDir != "" {
		s.mu.Lock()
		s.lens = newCacheProbe(s.opts)
		s.mu.Unlock()
		caps.CodeLensProvider = &protocol.CodeLensOptions{}
	}
	return protocol.InitializeResult{
		Capabilities: caps,
		ServerInfo:   &protocol.ServerInfo{Name: "wrenn", Version: s.opts.Version},
	}, nil
}

func (s *server) handleShutdown(context.Context, json.RawMessage) (any, error) {
	s.stopTimers()
	s.mu.Lock()
	s.shutdown = true
	s.mu.Unlock()
	return nil, nil
}

func (s *server) stopTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for uri, t := range s.timers {
		t.Stop()
		delete(s.timers, uri)
	}
}
