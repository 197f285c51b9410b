package cli

import (
	"github.com/spf13/cobra"
)

func init() { register(newCompletionCmd) }

// newCompletionCmd replaces cobra's default completion command with one
// whose help says how to install each script; the scripts themselves are
// cobra's (they call back into `wrenn __complete`, so flag values such as
// --format complete too).
func newCompletionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Completion prints a script that makes your shell complete wrenn's commands,
flags and flag values. Load it once in the current shell, or install it so
every new shell has it.`,
		Example: `  # bash, this shell only
  source <(wrenn completion bash)
  # bash, every shell (needs the bash-completion package)
  wrenn completion bash > /etc/bash_completion.d/wrenn

  # zsh (compinit must be enabled)
  wrenn completion zsh > "${fpath[1]}/_wrenn"

  # fish
  wrenn completion fish > ~/.config/fish/completions/wrenn.fish

  # PowerShell
  wrenn completion powershell | Out-String | Invoke-Expression`,
		ValidArgs: []cobra.Completion{"bash", "zsh", "fish", "powershell"},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("completion needs one shell: bash, zsh, fish or powershell")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(out)
			}
			return usageError("unknown shell %q: want bash, zsh, fish or powershell", args[0])
		},
	}
	return cmd
}
