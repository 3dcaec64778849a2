package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"unionhall/internal/apperr"
)

// transport is the only way into the GraphQL executor: OPTIONS, GET
// (queries only; in production persisted queries only) and POST with a
// JSON body (exactly one object, nothing after it). gqlgen's own
// transports answer some failures with bare, uncoded messages and echo
// malformed bodies back; here every failure is a coded error through the
// one error presenter, and nothing the client sent is repeated.
type transport struct {
	// persistedGETOnly refuses GET requests that carry a document: in
	// production a GET names a persisted query by its hash and nothing else.
	persistedGETOnly bool
}

var _ graphql.Transport = transport{}

func (transport) Supports(*http.Request) bool { return true }

func (t transport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch r.Method {
	case http.MethodOptions:
		w.Header().Set("Allow", "OPTIONS, GET, POST")
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet:
		t.get(w, r, exec)
	case http.MethodPost:
		t.post(w, r, exec)
	default:
		w.Header().Set("Allow", "OPTIONS, GET, POST")
		refuse(w, r, exec, http.StatusMethodNotAllowed, apperr.ValidationFailed, "请使用 POST 提交 GraphQL 请求")
	}
}

// refuse answers before any operation exists, through the error presenter.
func refuse(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, status int, code apperr.Code, msg string) {
	w.WriteHeader(status)
	writeResponse(w, exec.DispatchError(r.Context(), gqlerror.List{codedError(code, msg)}))
}

func writeResponse(w io.Writer, resp *graphql.Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		// Only a resolver bug gets here (an unencodable value); the
		// presenter already hid the details of anything else.
		b = []byte(`{"errors":[{"message":"` + apperr.InternalMessage + `","extensions":{"code":"INTERNAL"}}]}`)
	}
	_, _ = w.Write(b)
}

func (t transport) get(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		refuse(w, r, exec, http.StatusBadRequest, apperr.ValidationFailed, "请求参数格式不正确")
		return
	}
	raw := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName"), Headers: r.Header}
	raw.ReadTime.Start = graphql.Now()
	if t.persistedGETOnly && raw.Query != "" {
		refuse(w, r, exec, http.StatusBadRequest, apperr.ValidationFailed, "GET 请求只能使用已登记的查询（persistedQuery），其他请求请用 POST")
		return
	}
	for name, into := range map[string]*map[string]any{"variables": &raw.Variables, "extensions": &raw.Extensions} {
		if v := q.Get(name); v != "" {
			if err := decodeJSON([]byte(v), into); err != nil {
				refuse(w, r, exec, http.StatusBadRequest, apperr.ValidationFailed, "参数 "+name+" 不是有效的 JSON 对象")
				return
			}
		}
	}
	raw.ReadTime.End = graphql.Now()
	t.execute(w, r, exec, raw, true)
}

func (t transport) post(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		refuse(w, r, exec, http.StatusUnsupportedMediaType, apperr.ValidationFailed, "请求体应为 JSON（Content-Type: application/json）")
		return
	}
	raw := &graphql.RawParams{Headers: r.Header}
	raw.ReadTime.Start = graphql.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			refuse(w, r, exec, http.StatusRequestEntityTooLarge, apperr.ValidationFailed, "请求内容过大")
		case errors.Is(err, os.ErrDeadlineExceeded):
			refuse(w, r, exec, http.StatusRequestTimeout, apperr.ValidationFailed, "请求发送超时，请检查网络后重试")
		default:
			refuse(w, r, exec, http.StatusBadRequest, apperr.ValidationFailed, "请求内容不完整，请重试")
		}
		return
	}
	if err := decodeJSON(body, raw); err != nil {
		msg := "请求体不是有效的 GraphQL JSON"
		if b := bytes.TrimLeft(body, " \t\r\n"); len(b) > 0 && b[0] == '[' {
			msg = "不支持批量请求，请逐个发送"
		}
		refuse(w, r, exec, http.StatusBadRequest, apperr.ValidationFailed, msg)
		return
	}
	raw.ReadTime.End = graphql.Now()
	t.execute(w, r, exec, raw, false)
}

func (t transport) execute(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, raw *graphql.RawParams, queriesOnly bool) {
	ctx := r.Context()
	oc, errs := exec.CreateOperationContext(ctx, raw)
	if errs != nil {
		w.WriteHeader(statusForOperation(errs))
		writeResponse(w, exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs))
		return
	}
	if queriesOnly && oc.Operation.Operation != ast.Query {
		w.Header().Set("Allow", "POST")
		refuse(w, r, exec, http.StatusMethodNotAllowed, apperr.ValidationFailed, "GET 请求只能用于查询，修改请用 POST")
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, oc)
	writeResponse(w, responses(ctx))
}

// statusForOperation: a document that can't run is the client's fault.
func statusForOperation(errs gqlerror.List) int {
	if errcode.GetErrorKind(errs) == errcode.KindProtocol {
		return http.StatusUnprocessableEntity
	}
	for _, e := range errs {
		switch apperr.CodeOf(e.Err) {
		case apperr.PersistedQueryNotFound:
			// Apollo clients read the code from a 200 (or any) answer.
			return http.StatusOK
		case apperr.ValidationFailed:
			return http.StatusUnprocessableEntity
		}
	}
	return http.StatusOK
}

// decodeJSON reads exactly one JSON object: trailing data is an error, not
// ignored (a body that says two things is not executed as the first).
func decodeJSON(b []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return errors.New("not a JSON object")
	}
	if err := dec.Decode(into); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}
