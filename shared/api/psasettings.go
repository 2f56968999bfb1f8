package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

// Routes: a PSA connection's ticket settings, how ticket statuses and priorities are
// written to its PSA and read back (docs/psa.md, "Ticket statuses"). Reading them is
// running automation's, as the other PSA routes; changing them is a platform setting.
var (
	PsaTicketSettingsGet = Route{Method: "GET", Path: "/api/psa/{psaConnectionId}/ticket-settings", Permission: permission.RunAutomation,
		Function: "psa-ticket-settings-get", Summary: "A PSA connection's ticket status and priority maps, and the vendor's defaults",
		Handler: getPSATicketSettings}
	PsaTicketSettingsUpdate = Route{Method: "PUT", Path: "/api/psa/{psaConnectionId}/ticket-settings", Permission: permission.PlatformSettings,
		Function: "psa-ticket-settings-update", Category: audit.Settings,
		Summary: "Set a PSA connection's ticket status and priority maps (omitted: the vendor's defaults)", Handler: updatePSATicketSettings}
	PsaTicketValues = Route{Method: "GET", Path: "/api/psa/{psaConnectionId}/ticket-values", Permission: permission.RunAutomation,
		Function: "psa-ticket-values", Summary: "The ticket statuses and priorities the PSA offers, to pick a connection's maps from",
		Handler: getPSATicketValues, Actions: []string{"kms:Decrypt"}}
)

// psaTicketRoutes are the routes of tickets filed in a PSA.
func psaTicketRoutes() []Route {
	return []Route{PsaTicketSettingsGet, PsaTicketSettingsUpdate, PsaTicketValues}
}

// psaTicketMapsView are the two maps as the API shows them: ConnectWise's values are
// names (strings), Autotask's and HaloPSA's ids (integers).
type psaTicketMapsView struct {
	Status   map[string]any `json:"ticketStatusMap"`
	Priority map[string]any `json:"ticketPriorityMap"`
}

// psaTicketSettingsView is what GET and PUT answer.
type psaTicketSettingsView struct {
	ConnectionID string `json:"connectionId"`
	Type         string `json:"type"`
	psaTicketMapsView
	// Custom says which maps the connection sets; the others are the defaults.
	Custom    []string          `json:"custom"`
	Defaults  psaTicketMapsView `json:"defaults"`
	UpdatedAt *time.Time        `json:"updatedAt,omitempty"`
	Version   int64             `json:"version"`
}

// psaValueJSON is a vendor value as the API shows it: a name as is, an id as an
// integer; ok is false for an id that is no integer.
func psaValueJSON(vendor, v string) (any, bool) {
	if !domain.PSAValueNumeric(vendor) {
		return v, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

func mapView(vendor string, m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
		if j, ok := psaValueJSON(vendor, v); ok {
			out[k] = j
		}
	}
	return out
}

func viewPSATicketSettings(conn domain.Connection, st domain.PSATicketSettings) psaTicketSettingsView {
	r := st.Resolve(conn.Type)
	v := psaTicketSettingsView{ConnectionID: conn.ID, Type: conn.Type, Custom: []string{},
		psaTicketMapsView: psaTicketMapsView{mapView(conn.Type, r.StatusMap), mapView(conn.Type, r.PriorityMap)},
		Defaults:          psaTicketMapsView{mapView(conn.Type, domain.DefaultPSAStatuses(conn.Type)), mapView(conn.Type, domain.DefaultPSAPriorities(conn.Type))},
		UpdatedAt:         st.UpdatedAt, Version: st.Version}
	if len(st.StatusMap) > 0 {
		v.Custom = append(v.Custom, "ticketStatusMap")
	}
	if len(st.PriorityMap) > 0 {
		v.Custom = append(v.Custom, "ticketPriorityMap")
	}
	return v
}

func getPSATicketSettings(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		conn, err := psaConnectionOf(ctx, d, r, permission.RunAutomation)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		st, err := d.Store.PSATicketSettings(ctx, conn.OrganizationID, conn.ID)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, viewPSATicketSettings(conn, st))
	})
}

// psaTicketSettingsInput is the body of PUT ticket-settings; GET's other fields are
// ignored. A map left out (or null) is the vendor's default.
type psaTicketSettingsInput struct {
	StatusMap   map[string]json.RawMessage `json:"ticketStatusMap"`
	PriorityMap map[string]json.RawMessage `json:"ticketPriorityMap"`
	Version     *int64                     `json:"version"`
}

// psaMapInput reads one map of the input for vendor: names must be JSON strings, ids
// JSON integers; each value is then validated with the rest of the map. A value of the
// wrong type is named once: the map's own checks see a stand-in value for it.
func psaMapInput(v *problem.Validation, vendor, field string, in map[string]json.RawMessage, keys []string) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	mistyped := false
	for _, k := range slices.Sorted(maps.Keys(in)) {
		var n int64
		var s string
		switch {
		case domain.PSAValueNumeric(vendor) && json.Unmarshal(in[k], &n) == nil:
			out[k] = strconv.FormatInt(n, 10)
		case !domain.PSAValueNumeric(vendor) && json.Unmarshal(in[k], &s) == nil:
			out[k] = s
		case domain.PSAValueNumeric(vendor):
			v.Add(field+"."+k, "must be an integer: the %s id", connectionTypeName(vendor))
			out[k], mistyped = "1", true
		default:
			v.Add(field+"."+k, "must be a string: the %s name", connectionTypeName(vendor))
			out[k], mistyped = "-", true
		}
	}
	domain.ValidatePSAMap(v, vendor, field, out, keys)
	if mistyped {
		return nil
	}
	return out
}

func updatePSATicketSettings(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		conn, err := psaConnectionOf(ctx, d, r, permission.PlatformSettings)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var in psaTicketSettingsInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var v problem.Validation
		statuses := psaMapInput(&v, conn.Type, "ticketStatusMap", in.StatusMap, domain.TicketStatuses())
		priorities := psaMapInput(&v, conn.Type, "ticketPriorityMap", in.PriorityMap, domain.TicketPriorities())
		if err := v.Err(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		// Without a version the PUT is applied (the HTTP contract): another write
		// meanwhile makes it read again.
		var st domain.PSATicketSettings
		for attempt := 0; ; attempt++ {
			cur, err := d.Store.PSATicketSettings(ctx, oc.Org.ID, conn.ID)
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			if in.Version != nil && *in.Version != cur.Version {
				problem.Write(ctx, w, r, problem.StaleVersion("the ticket settings"))
				return
			}
			next := cur
			next.StatusMap, next.PriorityMap = statuses, priorities
			ev := audit.New(ctx, oc.Org.ID, audit.Settings, "connection.psa-ticket-settings",
				fmt.Sprintf("set the ticket status and priority maps of connection %s", conn.Label))
			before, after := cur.Resolve(conn.Type), next.Resolve(conn.Type)
			ev.Changes = diff(map[string]any{"ticketStatusMap": before.StatusMap, "ticketPriorityMap": before.PriorityMap},
				map[string]any{"ticketStatusMap": after.StatusMap, "ticketPriorityMap": after.PriorityMap})
			st, err = d.Store.PutPSATicketSettings(ctx, oc.Org.ID, next, ev)
			if err == nil {
				break
			}
			if in.Version != nil || attempt == 4 || !isStale(err) {
				problem.Write(ctx, w, r, err)
				return
			}
		}
		write(w, http.StatusOK, viewPSATicketSettings(conn, st))
	})
}

// psaTicketValueView is one status or priority of the PSA; value as a map takes it.
type psaTicketValueView struct {
	Value  any    `json:"value"`
	Name   string `json:"name"`
	Active bool   `json:"active"`
}

// psaTicketValuesView: a list the PSA cannot be asked for (ConnectWise statuses,
// HaloPSA priorities) is null.
type psaTicketValuesView struct {
	ConnectionID string               `json:"connectionId"`
	Type         string               `json:"type"`
	Statuses     []psaTicketValueView `json:"statuses"`
	Priorities   []psaTicketValueView `json:"priorities"`
}

func valuesView(vendor string, vs []psa.TicketValue) []psaTicketValueView {
	if vs == nil {
		return nil
	}
	out := make([]psaTicketValueView, 0, len(vs))
	for _, v := range vs {
		val, ok := psaValueJSON(vendor, v.Value)
		if !ok {
			continue // not an id a map could take
		}
		out = append(out, psaTicketValueView{Value: val, Name: v.Name, Active: v.Active})
	}
	return out
}

func getPSATicketValues(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		conn, err := psaConnectionOf(ctx, d, r, permission.RunAutomation)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		c, err := psaConnector(ctx, d, conn.OrganizationID, conn)
		if err != nil {
			problem.Write(ctx, w, r, psaCallProblem(conn, err))
			return
		}
		out := psaTicketValuesView{ConnectionID: conn.ID, Type: conn.Type}
		if l, ok := c.(psa.TicketValueLister); ok {
			vs, err := l.TicketValues(ctx)
			if err != nil {
				problem.Write(ctx, w, r, psaCallProblem(conn, err))
				return
			}
			out.Statuses, out.Priorities = valuesView(conn.Type, vs.Statuses), valuesView(conn.Type, vs.Priorities)
		}
		write(w, http.StatusOK, out)
	})
}
