package hostagentv1_test

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "wrenn.dev/wrenn/proto/hostagent/v1"
)

// wire is the production agent's wire format for the fields wrenn uses:
// message -> field -> "number kind[ repeated|map]". Changing a row breaks
// compatibility with production agents; this test makes such a change
// deliberate.
var wire = map[string]map[string]string{
	"CreateSandboxRequest": {
		"template": "1 string", "vcpus": "2 int32", "memory_mb": "3 int32", "timeout_sec": "4 int32",
		"sandbox_id": "5 string", "disk_size_mb": "6 int32", "team_id": "7 string", "template_id": "8 string",
		"default_user": "9 string", "default_env": "10 message map",
	},
	"CreateSandboxResponse":  {"sandbox_id": "1 string", "status": "2 string", "host_ip": "3 string", "metadata": "4 message map"},
	"DestroySandboxRequest":  {"sandbox_id": "1 string"},
	"ExecRequest":            {"sandbox_id": "1 string", "cmd": "2 string", "args": "3 string repeated", "timeout_sec": "4 int32"},
	"ExecResponse":           {"stdout": "1 bytes", "stderr": "2 bytes", "exit_code": "3 int32"},
	"ExecStreamRequest":      {"sandbox_id": "1 string", "cmd": "2 string", "args": "3 string repeated", "timeout_sec": "4 int32"},
	"WriteFileRequest":       {"sandbox_id": "1 string", "path": "2 string", "content": "3 bytes"},
	"ReadFileRequest":        {"sandbox_id": "1 string", "path": "2 string"},
	"ReadFileResponse":       {"content": "1 bytes"},
	"CreateSnapshotRequest":  {"sandbox_id": "1 string", "name": "2 string", "team_id": "3 string", "template_id": "4 string"},
	"CreateSnapshotResponse": {"size_bytes": "1 int64"},
	"FlattenRootfsRequest":   {"sandbox_id": "1 string", "name": "2 string", "team_id": "3 string", "template_id": "4 string"},
	"FlattenRootfsResponse":  {"size_bytes": "1 int64"},
	"DeleteSnapshotRequest":  {"name": "1 string", "team_id": "2 string", "template_id": "3 string"},
}

func TestWireCompatibility(t *testing.T) {
	for msg, fields := range wire {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName("hostagent.v1." + msg))
		if err != nil {
			t.Errorf("%s: %v", msg, err)
			continue
		}
		md := d.(protoreflect.MessageDescriptor)
		for name, want := range fields {
			f := md.Fields().ByName(protoreflect.Name(name))
			if f == nil {
				t.Errorf("%s.%s is missing", msg, name)
				continue
			}
			got := fmt.Sprintf("%d %s", f.Number(), f.Kind())
			switch {
			case f.IsMap():
				got += " map"
			case f.IsList():
				got += " repeated"
			}
			if got != want {
				t.Errorf("%s.%s is %q, production has %q", msg, name, got, want)
			}
		}
	}
	// The service keeps the RPC names the production agent serves.
	d, err := protoregistry.GlobalFiles.FindDescriptorByName("hostagent.v1.HostAgentService")
	if err != nil {
		t.Fatal(err)
	}
	sd := d.(protoreflect.ServiceDescriptor)
	for _, rpc := range []string{"CreateSandbox", "DestroySandbox", "ListSandboxes", "Exec", "ExecStream", "WriteFile", "ReadFile", "CreateSnapshot", "FlattenRootfs", "DeleteSnapshot"} {
		if sd.Methods().ByName(protoreflect.Name(rpc)) == nil {
			t.Errorf("HostAgentService.%s is missing", rpc)
		}
	}
	if m := sd.Methods().ByName("ExecStream"); m != nil && !m.IsStreamingServer() {
		t.Error("ExecStream must be server-streaming")
	}
}
