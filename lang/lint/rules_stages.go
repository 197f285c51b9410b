package lint

import (
	"strconv"
	"strings"

	"wrenn.dev/wrenn/lang"
)

// checkDuplicateStageName: COPY --from and FROM would be ambiguous.
func checkDuplicateStageName(p *pass) {
	seen := map[string]*lang.Stage{}
	for _, si := range p.stages {
		st := si.stage
		if st.Name == "" || st.From == nil || st.From.Name == nil {
			continue
		}
		key := strings.ToLower(st.Name)
		if first := seen[key]; first != nil {
			p.report(st.From.Name.Range, "stage name "+st.Name+" is already used",
				"stage names must be unique (case-insensitively) so FROM and COPY --from are unambiguous",
				lang.Related{Message: "first defined here", Range: first.From.Name.Range})
			continue
		}
		seen[key] = st
	}
}

// checkUndefinedStage: COPY --from must name an earlier stage; a FROM that
// names a later stage would be read as a template of that name.
func checkUndefinedStage(p *pass) {
	index := map[string]int{} // lower-cased name -> index of its FROM
	var names []string
	n := 0
	for _, si := range p.stages {
		if si.stage.From == nil {
			continue
		}
		if name := si.stage.Name; name != "" {
			if _, dup := index[strings.ToLower(name)]; !dup {
				index[strings.ToLower(name)] = n
				names = append(names, name)
			}
		}
		n++
	}
	// Stage indexes for COPY --from=N count FROMs, so ARGs before the
	// first FROM (parsed as a FROM-less stage 0) do not shift them.
	cur := -1
	for _, si := range p.stages {
		if si.stage.From != nil {
			cur++
		}
		if f := si.stage.From; f != nil {
			if i, ok := index[strings.ToLower(f.Base.Value)]; ok && i >= cur {
				msg := "FROM " + f.Base.Value + " names a later stage"
				if i == cur {
					msg = "FROM " + f.Base.Value + " names its own stage"
				}
				p.report(f.Base.Range, msg, "a stage can build only on an earlier stage; as written this is read as a base template named "+f.Base.Value)
			}
		}
		for _, st := range si.steps {
			c, ok := st.instr.(*lang.CopyInstr)
			if !ok || c.From == "" {
				continue
			}
			rng := flagValueRange(&c.InstrNode, "from")
			if n, err := strconv.Atoi(c.From); err == nil {
				if n < 0 || n >= cur {
					p.report(rng, "COPY --from="+c.From+" is not an earlier stage", "stage indexes count from 0 and must be lower than this stage's ("+strconv.Itoa(cur)+")")
				}
				continue
			}
			i, ok := index[strings.ToLower(c.From)]
			switch {
			case !ok:
				detail := "COPY --from takes the name (AS) or index of an earlier stage"
				if s := lang.DidYouMean(c.From, names); s != "" {
					detail = s
				}
				p.report(rng, "COPY --from="+c.From+": no stage has this name", detail)
			case i == cur:
				p.report(rng, "COPY --from="+c.From+" copies from its own stage", "COPY --from reads the final files of an earlier stage")
			case i > cur:
				p.report(rng, "COPY --from="+c.From+" names a later stage", "COPY --from reads the final files of an earlier stage; move that stage up")
			}
		}
	}
}
