#include "sync/selection.h"

#include <algorithm>

#include "sync/paths.h"

namespace ringkit::sync {
namespace {

std::string join(const std::vector<std::string_view>& parts) {
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

// A trailing "/" or "/." (or the path "." itself) asks for the directory's contents.
bool names_contents(std::string_view path) {
  return path.ends_with('/') || path == "." || path.ends_with("/.");
}

// The names of `view` that start with "<prefix>name" followed by '/' or the end.
std::pair<const SelectedName*, const SelectedName*> run_of(const SelView& view, std::string_view name) {
  auto key_of = [&](const SelectedName& n) { return std::string_view(n.path).substr(view.prefix); };
  // First name not less than `name` itself; the run ends at the first that is not name or name/...
  const SelectedName* lo = std::lower_bound(view.first, view.last, name, [&](const SelectedName& n, std::string_view k) {
    return path_less(key_of(n), k);
  });
  const SelectedName* hi = lo;
  while (hi != view.last) {
    std::string_view k = key_of(*hi);
    if (!k.starts_with(name) || (k.size() > name.size() && k[name.size()] != '/')) break;
    ++hi;
  }
  return {lo, hi};
}

}  // namespace

bool path_less(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i] == '/') return true;
    if (b[i] == '/') return false;
    return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

uint32_t Selection::add_base(std::string dir) {
  auto [it, added] = base_index_.try_emplace(dir, static_cast<uint32_t>(bases_.size()));
  if (added) {
    bases_.push_back(std::move(dir));
    base_uses_.push_back(0);
  }
  ++base_uses_[it->second];
  return it->second;
}

void Selection::add(std::string path, uint32_t base, bool contents) {
  SelectedName n{std::move(path), base, contents};
  n.order = static_cast<uint32_t>(names_.size());
  names_.push_back(std::move(n));
}

void Selection::finish() {
  std::stable_sort(names_.begin(), names_.end(),
                   [](const SelectedName& a, const SelectedName& b) { return path_less(a.path, b.path); });
  std::vector<SelectedName> merged;
  merged.reserve(names_.size());
  merged_.clear();
  for (SelectedName& n : names_) {
    if (!merged.empty() && merged.back().path == n.path) {
      SelectedName& kept = merged.back();
      kept.contents = kept.contents || n.contents;
      kept.repeated = true;
      size_t at = merged.size() - 1;
      bool known = n.base == kept.base;
      kept.repeated_in_base = kept.repeated_in_base || known;
      for (size_t i = merged_.size(); !known && i > 0 && merged_[i - 1].first == at; --i) {
        known = merged_[i - 1].second == n.base;
      }
      if (!known) merged_.emplace_back(at, n.base);
      continue;
    }
    merged.push_back(std::move(n));
  }
  names_ = std::move(merged);
  names_.shrink_to_fit();
}

void Selection::drop_names_from(const std::vector<bool>& failed_bases) {
  auto failed = [&](uint32_t base) { return base < failed_bases.size() && failed_bases[base]; };
  std::erase_if(names_, [&](const SelectedName& n) { return failed(n.base); });
  if (root_implied_ && failed(root_base_)) root_implied_ = false;
}

std::vector<std::pair<size_t, std::vector<uint32_t>>> Selection::names_from_several_bases() const {
  std::vector<std::pair<size_t, std::vector<uint32_t>>> out;
  for (auto it = merged_.begin(); it != merged_.end(); ++it) {
    size_t at = it->first;
    if (names_[at].path.empty()) continue;
    if (out.empty() || out.back().first != at) out.emplace_back(at, std::vector<uint32_t>{names_[at].base});
    out.back().second.push_back(it->second);
  }
  return out;
}

void Selection::set_bases(size_t index, const std::vector<uint32_t>& bases) {
  SelectedName& n = names_[index];
  n.repeated_in_base = n.repeated_in_base && n.base == bases.front();
  n.repeated = bases.size() > 1 || n.repeated_in_base;
  n.base = bases.front();
  auto first = std::lower_bound(merged_.begin(), merged_.end(), std::pair<size_t, uint32_t>(index, 0));
  auto last = first;
  while (last != merged_.end() && last->first == index) ++last;
  std::vector<std::pair<size_t, uint32_t>> now;
  for (size_t i = 1; i < bases.size(); ++i) now.emplace_back(index, bases[i]);
  first = merged_.erase(first, last);
  merged_.insert(first, now.begin(), now.end());
}

std::vector<uint32_t> Selection::merged_bases(const SelectedName* n) const {
  std::vector<uint32_t> out;
  if (n == nullptr || merged_.empty()) return out;
  size_t at = static_cast<size_t>(n - names_.data());
  auto it = std::lower_bound(merged_.begin(), merged_.end(), std::pair<size_t, uint32_t>(at, 0));
  for (; it != merged_.end() && it->first == at; ++it) out.push_back(it->second);
  return out;
}

const SelectedName* Selection::named_child(const SelView& view, std::string_view name) {
  auto [lo, hi] = run_of(view, name);
  return lo != hi && lo->path.size() == view.prefix + name.size() ? lo : nullptr;
}

std::vector<uint32_t> Selection::bases_holding(std::string_view rel) const {
  std::vector<uint32_t> out;
  auto add = [&out](uint32_t b) {
    if (std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
  };
  SelView root = root_view(false);
  add(root.base);
  for (uint32_t b : root_merged_bases()) add(b);
  std::string_view top = rel.substr(0, rel.find('/'));
  if (top.empty()) return out;
  auto [lo, hi] = run_of(root, top);
  for (const SelectedName* n = lo; n != hi; ++n) {
    add(n->base);
    for (uint32_t b : merged_bases(n)) add(b);
  }
  return out;
}

SelView Selection::root_view(bool recursive) const {
  SelView v;
  v.first = names_.data();
  v.last = names_.data() + names_.size();
  if (root_named()) {
    v.full = recursive || names_.front().contents;
    v.base = names_.front().base;
    ++v.first;
  } else if (root_implied_) {
    v.base = root_base_;
  } else if (!names_.empty()) {
    v.base = names_.front().base;
  }
  return v;
}

std::vector<SelChild> Selection::children(const SelView& view) {
  std::vector<SelChild> out;
  for (const SelectedName* n = view.first; n != view.last; ++n) {
    std::string_view rest = std::string_view(n->path).substr(view.prefix);
    size_t slash = rest.find('/');
    std::string_view name = rest.substr(0, slash);
    if (out.empty() || out.back().name != name) {
      out.push_back(SelChild{name, false, false, n->base, false});
    }
    SelChild& c = out.back();
    if (slash == std::string_view::npos) {
      c.named = true;
      c.contents = n->contents;
      c.base = n->base;
      c.repeated = n->repeated;
      c.order = n->order;
    } else {
      c.has_below = true;
      if (n->order < c.below_order) {
        c.below_order = n->order;
        c.below_base = n->base;
      }
    }
  }
  return out;
}

std::span<const SelectedName> Selection::names_below(const SelView& view, std::string_view name) {
  auto [lo, hi] = run_of(view, name);
  if (lo != hi && lo->path.size() == view.prefix + name.size()) ++lo;  // the child itself
  return {lo, hi};
}

std::optional<SelView> Selection::child_view(const SelView& view, std::string_view name, bool recursive,
                                             uint32_t fallback_base) {
  auto [lo, hi] = run_of(view, name);
  SelView child;
  child.prefix = view.prefix + name.size() + 1;
  child.base = fallback_base;
  bool named = lo != hi && lo->path.size() == view.prefix + name.size();
  if (view.full && recursive) {
    child.full = true;  // an entry of a directory walked whole: walked whole too
    if (named) ++lo;
  } else if (named) {
    child.base = lo->base;
    child.full = recursive || lo->contents;
    ++lo;
  } else if (lo != hi) {
    child.base = lo->base;
  }
  child.first = lo;
  child.last = hi;
  // Walked whole (-r) or just the directory itself, and the list says nothing more below it.
  if (child.empty() && (recursive || !child.full)) return std::nullopt;
  return child;
}

std::variant<RelativeSource, std::string> parse_relative_source(const std::string& arg) {
  RelativeSource r;
  std::string_view kept = arg;
  size_t dot = arg.find("/./");
  if (dot != std::string::npos) {
    r.base = dot == 0 ? "/" : arg.substr(0, dot);
    kept = std::string_view(arg).substr(dot + 3);
  } else if (arg == "." || arg.starts_with("./")) {
    r.base = ".";
    r.root_implied = true;
    kept = std::string_view(arg).substr(1);
  } else if (arg.starts_with('/')) {
    r.base = "/";
    r.absolute = true;
  } else {
    r.base = ".";
  }
  r.contents = names_contents(kept) || kept.empty();
  std::vector<std::string_view> parts = path_components(kept);
  for (std::string_view p : parts) {
    if (p == "..") return "found \"..\" dir in relative path: " + arg;
  }
  r.path = join(parts);
  if (r.root_implied && r.path.empty()) r.root_implied = false;  // "." or "./" names the root itself
  return r;
}

namespace {

// The components of `path` with ".." resolved, never rising above the start ("../x" is "x").
std::vector<std::string_view> resolved(std::string_view path) {
  std::vector<std::string_view> kept;
  for (std::string_view p : path_components(path)) {
    if (p != "..") {
      kept.push_back(p);
    } else if (!kept.empty()) {
      kept.pop_back();
    }
  }
  return kept;
}

}  // namespace

std::optional<ListedName> clean_listed_name(std::string_view raw) {
  if (raw.empty()) return std::nullopt;
  ListedName out;
  while (raw.size() > 1 && raw.front() == '/') raw.remove_prefix(1);
  if (raw == "/") raw = ".";
  size_t dot = raw.find("/./");
  if (dot != std::string_view::npos) {
    out.base = join(resolved(raw.substr(0, dot)));  // inside SRC as well
    raw = raw.substr(dot + 3);
  } else if (raw == "." || raw.starts_with("./")) {
    out.root_implied = true;
  }
  // "a/b/.." names a (resolved below) as "a/b/../." would: its entries are sent too.
  out.contents = names_contents(raw) || raw.empty() || raw == ".." || raw.ends_with("/..");
  out.path = join(resolved(raw));  // ".." never rises above the source directory
  if (out.path.empty()) {
    out.contents = true;  // "." (or "/"): the directory itself and its entries
    out.root_implied = false;
  }
  return out;
}

}  // namespace ringkit::sync
