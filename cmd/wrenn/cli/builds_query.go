package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

func newBuildsLsCmd(cf *buildsClientFlags) *cobra.Command {
	var status, name, token string
	var limit int
	cmd := &cobra.Command{
		Use:   "ls [--status S] [--name N]",
		Short: "List builds, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := cf.client().ListBuilds(cmd.Context(), connect.NewRequest(&buildv1.ListBuildsRequest{
				Status: status, Name: name, PageSize: int32(limit), PageToken: token,
			}))
			if err != nil {
				return exitCode(ExitFailure, err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tSTEP\tCACHED\tCREATED")
			for _, b := range resp.Msg.Builds {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%s\n", b.Id, b.Name, b.Status, b.CurrentStep, b.TotalSteps,
					b.CachedSteps, b.CreatedAt.AsTime().Local().Format(time.DateTime))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if resp.Msg.NextPageToken != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "more: --page-token %s\n", resp.Msg.NextPageToken)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only builds with this status")
	cmd.Flags().StringVar(&name, "name", "", "only builds of this template name")
	cmd.Flags().IntVar(&limit, "limit", 50, "page size")
	cmd.Flags().StringVar(&token, "page-token", "", "continue a previous listing")
	return cmd
}

func newBuildsGetCmd(cf *buildsClientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Print a build record as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := cf.client().GetBuild(cmd.Context(), connect.NewRequest(&buildv1.GetBuildRequest{Id: args[0]}))
			if err != nil {
				return exitCode(ExitFailure, err)
			}
			b, err := protojson.MarshalOptions{Multiline: true, UseProtoNames: true}.Marshal(resp.Msg.Build)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
}

func newBuildsCancelCmd(cf *buildsClientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a pending or running build",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := cf.client().CancelBuild(cmd.Context(), connect.NewRequest(&buildv1.CancelBuildRequest{Id: args[0]}))
			if err != nil {
				return exitCode(ExitFailure, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", resp.Msg.Build.Id, resp.Msg.Build.Status)
			return nil
		},
	}
}
