package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/agent/local"
)

func init() { register(newBaseCmd) }

func newBaseCmd() *cobra.Command {
	var root, runtime string
	cmd := &cobra.Command{
		Use:   "base",
		Short: "Make and list the base templates of a local agent root",
		Long: `A base template is a root filesystem that sandboxes start from; "minimal" is
the one builds use unless a Wrennfile says FROM. These commands work on the
agent root DIR directly (--root, default $WRENN_ROOT or /var/lib/wrenn), so
no agent may be running on it at the same time (the root is locked).

  wrenn base import NAME ROOTFS.tar[.gz]   from a rootfs tarball
  wrenn base bootstrap NAME --from busybox  a tiny base from the host's busybox-static
  wrenn base bootstrap NAME --from debian   Debian bookworm minbase with debootstrap
  wrenn base ls                             list templates`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("base needs a subcommand: import, bootstrap or ls\nRun 'wrenn base --help' for usage.")
		},
	}
	cmd.PersistentFlags().StringVar(&root, "root", defaultRoot(), "agent root `DIR` (env WRENN_ROOT)")
	addRuntimeFlag(cmd.PersistentFlags(), &runtime)
	opts := &baseOpts{root: &root, runtime: &runtime}
	cmd.AddCommand(newBaseImportCmd(opts), newBaseBootstrapCmd(opts), newBaseLsCmd(opts))
	return cmd
}

// baseOpts are the base commands' persistent flags.
type baseOpts struct{ root, runtime *string }

// withLocalBackend opens the local backend on the root for one command.
func withLocalBackend(cmd *cobra.Command, o *baseOpts, fn func(b *local.Backend) error) error {
	if err := checkRuntime(*o.runtime); err != nil {
		return err
	}
	b, err := local.New(local.Options{Root: *o.root, Runtime: *o.runtime})
	if err != nil {
		return exitCode(ExitFailure, err)
	}
	err = fn(b)
	if cerr := b.Close(cmd.Context()); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil && errors.Is(err, agent.ErrInvalid) {
		return exitCode(ExitUsage, err)
	}
	return err
}

func newBaseImportCmd(o *baseOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "import NAME ROOTFS.tar[.gz]",
		Short: "Make a base template from a rootfs tarball",
		Long: `Import extracts a rootfs tarball (tar or tar.gz, e.g. from 'docker export')
into a new base template NAME, replacing a template of that name. Entries
that would land outside the rootfs (absolute names, '..', hard links out of
it) are rejected, naming the entry; symlinks may point anywhere, as in any
rootfs, and are resolved inside it. The template's digest is computed from
its content.`,
		Example: `  wrenn base import minimal ./debian-rootfs.tar.gz`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withLocalBackend(cmd, o, func(b *local.Backend) error {
				info, err := b.ImportBase(cmd.Context(), args[0], args[1])
				if err != nil {
					return err
				}
				printBaseMade(cmd, info)
				return nil
			})
		},
	}
}

func newBaseBootstrapCmd(o *baseOpts) *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "bootstrap NAME --from busybox|debian",
		Short: "Build a base template from busybox or with debootstrap",
		Long: `Bootstrap builds a base template NAME, replacing a template of that name:

  --from busybox  the host's static busybox (apt-get install busybox-static)
                  with every applet, /etc/passwd, /tmp, and adduser/addgroup
                  stand-ins; takes a second; for tests
  --from debian   Debian bookworm, debootstrap --variant=minbase plus sudo,
                  adduser and ca-certificates, from the host's apt mirror: a
                  real "minimal" that can run apt; takes minutes`,
		Example: `  wrenn base bootstrap minimal --from debian
  wrenn base bootstrap --root /tmp/wr tiny --from busybox`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if from != local.FromBusybox && from != local.FromDebian {
				return usageError("--from %q: want busybox or debian", from)
			}
			return withLocalBackend(cmd, o, func(b *local.Backend) error {
				info, err := b.BootstrapBase(cmd.Context(), args[0], from, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				printBaseMade(cmd, info)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "`SOURCE`: busybox or debian (required)")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}

func printBaseMade(cmd *cobra.Command, info agent.TemplateInfo) {
	fmt.Fprintf(cmd.OutOrStdout(), "base %s: id %s, %s, %s\n", info.Name, info.ID, humanize.IBytes(uint64(info.SizeBytes)), info.Digest)
}

func newBaseLsCmd(o *baseOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the templates of a local agent root",
		Long: `Ls lists the base and snapshot templates under the root: name, id, type,
size on disk, content digest (short) and creation time. --json prints the
full digests as a JSON array.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withLocalBackend(cmd, o, func(b *local.Backend) error {
				list, err := b.ListTemplates(cmd.Context())
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					type row struct {
						Name      string    `json:"name"`
						ID        string    `json:"id"`
						Type      string    `json:"type"`
						SizeBytes int64     `json:"size_bytes"`
						Digest    string    `json:"digest"`
						Created   time.Time `json:"created"`
					}
					rows := make([]row, 0, len(list))
					for _, t := range list {
						rows = append(rows, row{t.Name, t.ID, t.Type, t.SizeBytes, t.Digest, t.Created})
					}
					enc := json.NewEncoder(out)
					enc.SetIndent("", "  ")
					return enc.Encode(rows)
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tID\tTYPE\tSIZE\tDIGEST\tCREATED")
				for _, t := range list {
					d := strings.TrimPrefix(t.Digest, "sha256:")
					if len(d) > 12 {
						d = d[:12]
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.ID, t.Type, humanize.IBytes(uint64(t.SizeBytes)), d, t.Created.Local().Format("2006-01-02 15:04"))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
