package richtext

import (
	"strings"
	"testing"
)

func TestRenderDropsWhatIsUnsafe(t *testing.T) {
	cases := []struct {
		name, format, in string
		mustNot          []string
		must             []string
	}{
		{"script tag", "HTML", `<p>体检</p><script>alert(1)</script>`, []string{"<script", "alert"}, []string{"<p>体检</p>"}},
		{"event handler", "HTML", `<img src="https://x.cn/a.png" onerror="alert(1)">`, []string{"onerror"}, []string{`src="https://x.cn/a.png"`}},
		{"javascript link", "HTML", `<a href="javascript:alert(1)">点我</a>`, []string{"javascript"}, []string{"点我"}},
		{"http image", "HTML", `<img src="http://x.cn/a.png">`, []string{"http://"}, nil},
		{"style and iframe", "HTML", `<div style="background:url(javascript:x)"><iframe src="https://x.cn"></iframe>文</div>`, []string{"style", "iframe"}, []string{"文"}},
		{"svg", "HTML", `<svg><script>alert(1)</script></svg>`, []string{"svg", "script"}, nil},
		{"markdown raw html", "MARKDOWN", "# 标题\n\n<script>alert(1)</script>\n\n**粗体**", []string{"script"}, []string{"<h1>标题</h1>", "<strong>粗体</strong>"}},
		{"markdown js link", "MARKDOWN", "[x](javascript:alert(1))", []string{"javascript"}, nil},
		{"markdown https link", "MARKDOWN", "[报名须知](https://x.cn/a)", nil, []string{`href="https://x.cn/a"`, `rel="nofollow noreferrer"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Render(c.format, c.in)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.mustNot {
				if strings.Contains(strings.ToLower(out), s) {
					t.Errorf("output %q contains %q", out, s)
				}
			}
			for _, s := range c.must {
				if !strings.Contains(out, s) {
					t.Errorf("output %q lacks %q", out, s)
				}
			}
		})
	}
}

func FuzzRenderNeverEmitsScript(f *testing.F) {
	f.Add(`<scr<script>ipt>alert(1)</script>`)
	f.Add(`<a href="jav&#x09;ascript:alert(1)">x</a>`)
	f.Fuzz(func(t *testing.T, in string) {
		for _, format := range []string{"HTML", "MARKDOWN"} {
			out, err := Render(format, in)
			if err != nil {
				return
			}
			low := strings.ToLower(out)
			for _, bad := range []string{"<script", "javascript:", " onerror=", " onload=", "<iframe", "<style"} {
				if strings.Contains(low, bad) {
					t.Fatalf("%s %q rendered %q", format, in, out)
				}
			}
		}
	})
}
