package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"unionhall/internal/apperr"
)

// persistedDocuments is the persisted-query protocol (Apollo's
// extensions.persistedQuery {version: 1, sha256Hash}) in one of two modes:
//
//   - automatic (the default): a client may register any document by
//     sending it with its hash once, then send the hash alone (GET, cached
//     by CDNs and small on a bad network);
//   - trusted (TRUSTED_DOCUMENTS): only the documents in a list shipped
//     with the mini-program run, by hash or in full; nothing registers.
//
// Misses carry PERSISTED_QUERY_NOT_FOUND, which Apollo-style clients look
// for before they resend the document.
type persistedDocuments struct {
	trusted map[string]string // hash → document; nil in automatic mode
	cache   *lru.LRU[string]  // automatic mode's registered documents
}

// loadTrustedDocuments reads a JSON object {"<sha256 hex>": "<document>"},
// checking every hash, so a list built wrong fails at start, not per request.
func loadTrustedDocuments(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("TRUSTED_DOCUMENTS: %w", err)
	}
	var docs map[string]string
	if err := json.Unmarshal(b, &docs); err != nil {
		return nil, fmt.Errorf("TRUSTED_DOCUMENTS: %s is not a JSON object of hash → document: %w", path, err)
	}
	for h, d := range docs {
		if documentHash(d) != h {
			return nil, fmt.Errorf("TRUSTED_DOCUMENTS: the document under %q does not hash to it", h)
		}
	}
	return docs, nil
}

func documentHash(doc string) string {
	sum := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(sum[:])
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = (*persistedDocuments)(nil)

func (*persistedDocuments) ExtensionName() string                   { return "PersistedDocuments" }
func (*persistedDocuments) Validate(graphql.ExecutableSchema) error { return nil }

func codedError(code apperr.Code, msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Err: apperr.New(code, msg)}
}

func (p *persistedDocuments) MutateOperationParameters(ctx context.Context, raw *graphql.RawParams) *gqlerror.Error {
	hash, err := persistedHash(raw.Extensions)
	if err != nil {
		return err
	}
	if p.trusted != nil {
		if raw.Query == "" {
			if hash == "" {
				return nil // gqlgen says "no operation provided"
			}
			doc, ok := p.trusted[hash]
			if !ok {
				return codedError(apperr.PersistedQueryNotFound, "查询未登记，请更新小程序后重试")
			}
			raw.Query = doc
			return nil
		}
		if _, ok := p.trusted[documentHash(raw.Query)]; !ok {
			return codedError(apperr.ValidationFailed, "该查询不在允许的列表中，请更新小程序后重试")
		}
		return nil
	}
	if hash == "" {
		return nil
	}
	if raw.Query == "" {
		doc, ok := p.cache.Get(ctx, hash)
		if !ok {
			return codedError(apperr.PersistedQueryNotFound, "查询未登记，请连同查询内容重新发送")
		}
		raw.Query = doc
		return nil
	}
	if documentHash(raw.Query) != hash {
		return codedError(apperr.ValidationFailed, "查询内容与其哈希不符")
	}
	p.cache.Add(ctx, hash, raw.Query)
	return nil
}

// persistedHash reads extensions.persistedQuery, if any.
func persistedHash(ext map[string]any) (string, *gqlerror.Error) {
	v, ok := ext["persistedQuery"]
	if !ok || v == nil {
		return "", nil
	}
	pq, ok := v.(map[string]any)
	if !ok {
		return "", codedError(apperr.ValidationFailed, "persistedQuery 格式不正确")
	}
	if ver, _ := pq["version"].(json.Number); ver.String() != "1" {
		return "", codedError(apperr.ValidationFailed, "不支持的 persistedQuery 版本")
	}
	h, _ := pq["sha256Hash"].(string)
	if len(h) != 64 {
		return "", codedError(apperr.ValidationFailed, "persistedQuery 哈希格式不正确")
	}
	return h, nil
}

// oneLogin refuses an operation with more than one login-type root field
// (aliases, fragments and inline fragments included): otherwise fifty
// aliased logins in one request pass any per-request limit.
type oneLogin struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = oneLogin{}

func (oneLogin) ExtensionName() string                   { return "OneLoginPerRequest" }
func (oneLogin) Validate(graphql.ExecutableSchema) error { return nil }

var loginFields = map[string]bool{"loginWithWeChat": true, "loginAdmin": true, "refreshToken": true}

func (oneLogin) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil || oc.Operation.Operation != ast.Mutation {
		return nil
	}
	keys := map[string]bool{}
	seen := map[string]bool{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				if loginFields[sel.Name] {
					keys[sel.Alias] = true
				}
			case *ast.InlineFragment:
				walk(sel.SelectionSet)
			case *ast.FragmentSpread:
				if sel.Definition != nil && !seen[sel.Name] {
					seen[sel.Name] = true
					walk(sel.Definition.SelectionSet)
				}
			}
		}
	}
	walk(oc.Operation.SelectionSet)
	if len(keys) > 1 {
		return codedError(apperr.ValidationFailed, "一次请求只能登录一次")
	}
	return nil
}
