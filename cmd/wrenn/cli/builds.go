package cli

import (
	"os"

	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/proto/wrenn/build/v1/buildv1connect"
	"wrenn.dev/wrenn/service"
)

func init() { register(newBuildsCmd) }

// buildsClientFlags are the connection flags of every `wrenn builds` command.
type buildsClientFlags struct {
	server, token string
}

func (f *buildsClientFlags) client() buildv1connect.BuildServiceClient {
	return service.NewClient(f.server, f.token)
}

func newBuildsCmd() *cobra.Command {
	f := &buildsClientFlags{}
	cmd := &cobra.Command{
		Use:   "builds",
		Short: "Create, list, inspect, cancel and follow builds on a wrenn server",
		Long: `builds is the client of 'wrenn serve'. --server (default $WRENN_SERVER or
http://127.0.0.1:8080) and --token (default $WRENN_TOKEN) select the server.`,
	}
	server := os.Getenv("WRENN_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	cmd.PersistentFlags().StringVar(&f.server, "server", server, "`URL` of the wrenn server")
	cmd.PersistentFlags().StringVar(&f.token, "token", os.Getenv("WRENN_TOKEN"), "bearer `TOKEN`")
	cmd.AddCommand(newBuildsCreateCmd(f), newBuildsLsCmd(f), newBuildsGetCmd(f), newBuildsCancelCmd(f), newBuildsLogsCmd(f))
	return cmd
}
