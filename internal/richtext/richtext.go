// Package richtext turns what an admin writes (Markdown or HTML from an
// editor) into HTML that is safe for the mini-program's <rich-text>
// component: only the tags it renders, no scripts, no event handlers, no
// style, links and images only over https.
//
// Markdown is rendered by goldmark (CommonMark, raw HTML dropped) and every
// result then goes through one bluemonday allow-list, so both formats meet
// the same policy. Both are widely used, maintained, and fuzzed upstream;
// a hand-written sanitiser is the classic source of XSS holes.
package richtext

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

var (
	md = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))

	policy = func() *bluemonday.Policy {
		p := bluemonday.NewPolicy()
		p.AllowElements("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "u",
			"s", "del", "ins", "sub", "sup", "small", "mark", "blockquote", "pre", "code", "span", "div",
			"section", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "th", "td",
			"caption", "col", "colgroup")
		p.AllowAttrs("colspan", "rowspan").Matching(regexp.MustCompile(`^[0-9]{1,2}$`)).OnElements("td", "th")
		p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]{1,4}$`)).OnElements("ol")
		p.AllowAttrs("href").OnElements("a")
		p.AllowElements("a")
		p.AllowAttrs("src").OnElements("img")
		p.AllowAttrs("alt", "width", "height").OnElements("img")
		p.AllowURLSchemes("https")
		p.RequireParseableURLs(true)
		p.AllowRelativeURLs(false)
		p.RequireNoFollowOnLinks(true)
		p.RequireNoReferrerOnLinks(true)
		return p
	}()
)

// Render returns the safe HTML of source written in format ("MARKDOWN" or
// "HTML").
func Render(format, source string) (string, error) {
	html := source
	if format == "MARKDOWN" {
		var b bytes.Buffer
		if err := md.Convert([]byte(source), &b); err != nil {
			return "", err
		}
		html = b.String()
	}
	return strings.TrimSpace(policy.Sanitize(html)), nil
}
