/**
 * The status page's stylesheet, in two parts: STATUS_CSS, all that the page's
 * header and targets need, inline in every page (render-page.ts) and allowed by
 * its hash in the CSP (STATUS_CSS_HASH, http-answers.ts), so the first paint
 * waits for no request; and STATUS_REST_CSS, the rest (a file). Light and dark
 * (prefers-color-scheme), the system font stack (no web font, no CDN), readable on a 375 px phone: a target's head, stats
 * and agents wrap, its bar strips (one SVG each, bar-strip.ts) stretch to the width.
 * Every text colour pair meets WCAG AA (4.5:1, checked for both schemes:
 * fg, muted and link on the page, card and down-row backgrounds; each state
 * pill's text on its fill). Focus is a visible 3 px outline. A down target
 * and an open incident are a red-edged, red-tinted card with a red "down"
 * pill, and the state is always written too, never told by colour alone.
 * Bar colours by level (format.ts uptimeLevel): b4 green … b0 red, bnodata grey;
 * a strip's bars are a dashed stroke (9 on, 1 off a slot), the gaps between them.
 * A stale target (no live agent watches it) has an amber pill.
 * Quick to first paint: the rows after the first eight and the sections after
 * the targets are content-visibility:auto (laid out and painted only near the
 * viewport, still in the accessibility tree and found by find-in-page), and the
 * monospace stack names only fonts a browser can have (each missing one is a
 * font lookup before the first layout).
 */
import { createHash } from 'node:crypto';

export const STATUS_CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--card:#f6f8fa;--line:#d1d9e0;--link:#0550ae;--focus:#0969da;
--up:#116329;--up-bg:#dafbe1;--down:#a40e26;--down-bg:#ffdcd7;--down-row:#fff0ee;--down-line:#cf222e;--pill-down:#b42318;
--unk:#424a53;--unk-bg:#eaeef2;--warn:#7d4e00;--warn-bg:#fff8c5;--btn:#0969da;--btn-fg:#fff;
--b4:#1a7f37;--b3:#4ac26b;--b2:#d4a72c;--b1:#e16f24;--b0:#cf222e;--bnd:#d1d9e0;
font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--card:#151b23;--line:#3d444d;--link:#58a6ff;--focus:#58a6ff;
--up:#56d364;--up-bg:#0f2d19;--down:#ff8182;--down-bg:#4c1419;--down-row:#2a1215;--down-line:#f85149;--pill-down:#b42318;
--unk:#b7bdc8;--unk-bg:#262c36;--warn:#e3b341;--warn-bg:#33280d;--btn:#1f6feb;--btn-fg:#fff;
--b4:#2ea043;--b3:#7ee787;--b2:#d29922;--b1:#db6d28;--b0:#f85149;--bnd:#3d444d}}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--fg);overflow-wrap:anywhere}
header.top,main{max-width:72rem;margin:0 auto;padding:0 1rem}
main{padding-bottom:3rem}
a{color:var(--link)}
a:hover{text-decoration-thickness:2px}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-9999px;top:.5rem;background:var(--bg);color:var(--link);padding:.3rem .6rem;z-index:20}
.skip:focus{left:.5rem}
.vh{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip-path:inset(50%);white-space:nowrap;border:0}
h1{font-size:1.6rem;margin:1rem 0 .3rem;line-height:1.2}
h2{font-size:1.25rem;margin:1.6rem 0 .5rem;padding-bottom:.2rem;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:.2rem 0}
code,.t-fail span,.err{font-family:ui-monospace,Menlo,Consolas,monospace}
code{font-size:.9em}
.t-fail span,.err{font-size:.85rem}
.note,.t-count,.i-count,.live,.crumbs{color:var(--muted);margin:.3rem 0}
.summary{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;margin:.2rem 0;font-size:1.05rem}
.count-down strong{color:var(--down)}
.count-up strong{color:var(--up)}
header nav{display:flex;flex-wrap:wrap;gap:.3rem 1rem;margin:.3rem 0 .5rem}
.live>span[class^="live-"]{display:none;font-weight:600}
body[data-live=static] .live-static,body[data-live=connecting] .live-connecting,body[data-live=connected] .live-connected,body[data-live=offline] .live-offline{display:inline}
.live-connected{color:var(--up)}
.live-connected::before{content:"\\25CF\\00A0"}
.live-offline{color:var(--warn)}
input,button{font:inherit}
input{padding:.35rem .5rem;border:1px solid var(--muted);border-radius:4px;background:var(--bg);color:var(--fg);min-width:0;max-width:100%}
input::placeholder{color:var(--muted)}
button{padding:.35rem .9rem;border-radius:4px;border:1px solid var(--btn);background:var(--btn);color:var(--btn-fg);cursor:pointer}
.filter{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;margin:.5rem 0}
.filter input{width:min(24rem,100%)}
.targets,.incidents,.agents,.dead-letters,.silences,.deliveries,.t-agents{list-style:none;padding:0;margin:.3rem 0}
.targets>.target:nth-child(n+9){content-visibility:auto;contain-intrinsic-size:auto 10rem}
#incidents,#agents,#dead-letters,#silences{content-visibility:auto;contain-intrinsic-size:auto 30rem}
.target,.incident,.dead,.agent,.silence{border:1px solid var(--line);border-radius:6px;background:var(--card);padding:.55rem .8rem;margin:.5rem 0}
.target[data-state=down],.incident[data-state=open]{background:var(--down-row);border-color:var(--down-line);border-left-width:6px}
.t-head,.i-head{display:flex;flex-wrap:wrap;gap:.2rem .6rem;align-items:baseline}
.t-name{font-weight:600;font-size:1.05rem;margin:0}
.state,.silenced{display:inline-block;padding:0 .5rem;border-radius:1rem;font-size:.85rem;font-weight:600;line-height:1.5;color:var(--unk);background:var(--unk-bg)}
[data-state=up]>.t-head>.state,.agent[data-state=reporting]>.state,.incident[data-state=closed] .i-head .state{color:var(--up);background:var(--up-bg)}
[data-state=down]>.t-head>.state,.incident[data-state=open] .i-head .state{color:#fff;background:var(--pill-down)}
.agent[data-state=silent]>.state{color:var(--down);background:var(--down-bg)}
.state.st-stale,.silenced{color:var(--warn);background:var(--warn-bg)}
.since,.a-meta,.dl-meta,.s-meta,.i-when{color:var(--muted);font-size:.9rem}
.t-agents{display:flex;flex-wrap:wrap;gap:.1rem 1rem;font-size:.9rem;color:var(--muted)}
.t-agents li[data-state=down]{color:var(--down);font-weight:600}
.t-stats{display:flex;flex-wrap:wrap;gap:.15rem 1.2rem;margin:.35rem 0;font-size:.9rem}
.t-stats div{display:flex;gap:.35rem}
.t-stats div:nth-child(-n+4) dt::before,.t-stats div:nth-child(n+5) dt::before{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.t-stats div:nth-child(-n+4) dt::before{content:"uptime "}
.t-stats div:nth-child(n+5) dt::before{content:"24h response "}
dt{color:var(--muted)}
dd{margin:0;font-variant-numeric:tabular-nums}
.t-fail{margin:.2rem 0;font-size:.9rem}
.bars{height:1.6rem;margin:.35rem 0;padding:1px;border-radius:3px;cursor:default}
.bars svg{display:block;width:100%;height:100%;overflow:visible}
.bars-hour{height:1rem}
.bars path{fill:none;stroke-width:1;stroke-dasharray:9 1;stroke:var(--bnd)}
.bars .b4{stroke:var(--b4)}.bars .b3{stroke:var(--b3)}.bars .b2{stroke:var(--b2)}.bars .b1{stroke:var(--b1)}.bars .b0{stroke:var(--b0)}
.bars .sel{fill:none;stroke:var(--fg);stroke-width:2px;vector-effect:non-scaling-stroke}
.bar-tip{position:fixed;left:0;top:0;z-index:10;pointer-events:none;background:var(--fg);color:var(--bg);border-radius:4px;font-size:.85rem;max-width:90vw;padding:.2rem .5rem}
.bar-tip:empty{padding:0}
.pager{display:flex;flex-wrap:wrap;gap:.5rem 1.2rem;align-items:center;margin:.6rem 0}
@media (max-width:40rem){header.top,main{padding:0 .6rem}.target,.incident,.dead,.agent,.silence{padding:.5rem .55rem}.t-stats{gap:.1rem .9rem}}
`;

/**
 * The rest: what only the sections after the targets (incidents, agents, dead
 * letters, silences) and the other pages use. Served at STATUS_REST_PATH
 * (immutable: its hash is in the name), linked after the targets section, where
 * it holds back only the parsing of what follows it, not the first paint.
 */
export const STATUS_REST_CSS = `
.field{display:flex;flex-direction:column;gap:.15rem;margin:.4rem 0;max-width:28rem}
.target-page .t-name{font-size:1.5rem}
.target-page .bars{height:2.4rem}
.target-page .bars-hour{height:1.6rem}
.i-msg{margin:.2rem 0}
.reason{color:var(--muted)}
.timeline{margin:.3rem 0}
.timeline summary{cursor:pointer;color:var(--link)}
.timeline ol{margin:.2rem 0;padding-left:1.4rem;font-size:.9rem}
.ev{font-weight:600}
.deliveries{font-size:.9rem}
.deliveries li{margin:.15rem 0}
[data-outcome=sent] .outcome{color:var(--up);font-weight:600}
[data-outcome=retrying] .outcome,[data-outcome=pending] .outcome{color:var(--warn);font-weight:600}
[data-outcome=dead] .outcome{color:var(--down);font-weight:600}
.dead p{margin:0 0 .2rem}
.reasons{margin:0;font-size:.9rem}
.reasons div{display:flex;flex-wrap:wrap;gap:.4rem}
.a-name{font-weight:600}
.silence-form{margin:.8rem 0;padding:.6rem .8rem;border:1px solid var(--line);border-radius:6px}
.s-remove{display:inline}
.s-remove button,.i-close,.a-forget{padding:.05rem .6rem;font-size:.85rem}
textarea{font:inherit;padding:.35rem .5rem;border:1px solid var(--muted);border-radius:4px;background:var(--bg);color:var(--fg);max-width:100%;vertical-align:middle}
.i-close-form{margin:.3rem 0}
#incidents:not(:has(.i-close)) .i-close-form{display:none}
.login{max-width:26rem;margin:3rem auto;padding:0 1rem}
.error{color:var(--down);font-weight:600}
`;

/** The CSP's source for the inline stylesheet: 'sha256-<base64>' of its text. */
export const STATUS_CSS_HASH = `sha256-${createHash('sha256').update(STATUS_CSS).digest('base64')}`;

/** Where the rest is served: its content's hash in the name, so it may be cached for good. */
export const STATUS_REST_PATH = `/assets/status-${createHash('sha256').update(STATUS_REST_CSS).digest('hex').slice(0, 16)}.css`;
