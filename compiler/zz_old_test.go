package compiler

func zzScript(s *Step) string          { return s.Script() }
func zzPre(s *Step) []byte             { return s.Preimage() }
func zzEnv(s *Step) map[string]string  { return s.Env() }
func zzArgs(s *Step) map[string]string { return s.Args() }
