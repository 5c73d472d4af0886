#include "sync/item_output.h"

#include <algorithm>
#include <cstdio>

namespace ringkit::sync {
namespace {

constexpr uint64_t kTokenChunk = 32 << 10;  // rsync sends literal data in chunks of this size

// An item that needed no new content: unchanged, or a hard link (-H, --link-dest) already on
// the right inode (one made now names its leader).
bool left_alone(const LogItem& it) {
  return it.change.update == ItemChange::Update::kNoUpdate ||
         (it.change.update == ItemChange::Update::kHardLink && it.hardlink_target.empty() && !it.change.is_new);
}

bool significant(const ItemChange& c) {
  return c.is_new || c.update == ItemChange::Update::kTransfer || c.changed || c.size || c.time || c.perms ||
         c.owner || c.group || c.atime || c.acl || c.xattr;
}

// rsync's write_ndx(): a file-list index is sent as the difference from the previous one.
uint64_t ndx_bytes(int64_t diff) {
  if (diff > 0 && diff < 0xFE) return 1;
  if (diff < 0 || diff > 0x7FFF) return 5;
  return 3;
}

// rsync's clean_fname() as far as %f needs it: no "./" components, no doubled or trailing '/'.
std::string clean_path(const std::string& path) {
  std::string out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    std::string part = path.substr(i, slash == std::string::npos ? std::string::npos : slash - i);
    bool last = slash == std::string::npos;
    if (!part.empty() && (part != "." || (last && !out.empty()))) {
      if (!out.empty() && out.back() != '/') out += '/';
      out += part;
    } else if (i == 0 && path[0] == '/') {
      out = "/";
    }
    if (last) break;
    i = slash + 1;
  }
  return out.empty() ? "." : out;
}

}  // namespace

ItemOutput::ItemOutput(const Options& opt, Reporter& rep)
    : opt_(opt),
      rep_(rep),
      info_(effective_info(opt)),
      meter_(rep, opt.no_human_readable ? 0 : std::min(3, 1 + opt.human_readable)) {
  if (opt.out_format) stdout_.emplace(*opt.out_format);
  log_file_ = rep.log();
  if (log_file_ != nullptr && opt.log_file_format && !opt.log_file_format->empty()) log_.emplace(*opt.log_file_format);
  late_ = stdout_ && stdout_->needs_transfer_stats();
  wants_checksum_ = (stdout_ && stdout_->has('C')) || (log_ && log_->has('C'));
  wants_sender_path_ = (stdout_ && stdout_->has('f')) || (log_ && log_->has('f'));
  // Only progress and %b look at the file-list numbers.
  numbering_ = info_.progress > 0 || (stdout_ && stdout_->has('b')) || (log_ && log_->has('b'));
  sends_dirs_ = opt.recursive || opt.dirs;
  incremental_ = opt.recursive && opt.delete_timing != DeleteTiming::kBefore &&
                 opt.delete_timing != DeleteTiming::kAfter && !opt.delay_updates && !opt.prune_empty_dirs;
}

void ItemOutput::set_source(const std::string& path, bool contents) {
  std::string root = path;
  if (!contents) {
    size_t slash = path.find_last_of('/');
    root = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
  }
  source_roots_.assign(1, std::move(root));
}

ItemLine ItemOutput::line(const ItemChange& change, const std::string& path, const std::string& target,
                          const FileStat& st, const Entry* entry, uint32_t base) const {
  ItemLine l;
  l.body_ = std::make_unique<ItemLine::Body>();
  LogItem& it = l.body_->item.emplace();
  it.change = change;
  it.name = path;
  while (it.name.size() > 1 && it.name.back() == '/') it.name.pop_back();
  if (wants_sender_path_) {
    if (entry != nullptr) base = entry->base;
    const std::string& root = base < source_roots_.size() ? source_roots_[base] : source_roots_.front();
    it.sender_path = clean_path(root.empty() ? it.name : root + "/" + it.name);
  }
  if (!it.sender_path.empty() && it.sender_path[0] == '/') it.sender_path.erase(0, it.sender_path.find_first_not_of('/'));
  if (change.update == ItemChange::Update::kHardLink) it.hardlink_target = target;
  else it.symlink_target = target;
  it.mode = st.stx_mode;
  it.length = S_ISCHR(st.stx_mode) || S_ISBLK(st.stx_mode) ? 0 : st.stx_size;
  it.mtime = st.stx_mtime.tv_sec;
  it.uid = opt_.owner ? st.stx_uid : 0;
  it.gid = st.stx_gid;
  it.gid_known = opt_.group;
  if (entry != nullptr) {
    l.body_->ndx = entry->ndx;
    l.body_->pos = entry->list_pos;
  }
  return l;
}

void ItemOutput::render_stdout(const LogItem& item, const char* op) {
  if (stdout_) rep_.item_line(stdout_->render(item, op));
}

void ItemOutput::write_log(const LogItem& item, const char* op) {
  if (log_) log_file_->write(escape_for_log(log_->render(item, op)));
}

void ItemOutput::emit(ItemLine& l) {
  if (l.empty()) return;
  if (!l.body_->note.empty()) {
    rep_.line(l.body_->note);
  } else if (l.body_->item) {
    LogItem& it = *l.body_->item;
    const ItemChange& c = it.change;
    if (c.update == ItemChange::Update::kTransfer) {
      emit_transfer(l);
    } else if (says_uptodate() && !S_ISDIR(it.mode) && left_alone(it)) {
      emit_unchanged(it);
    } else {
      bool sig = significant(c);
      bool hard_link = !it.hardlink_target.empty();
      bool local = c.update == ItemChange::Update::kLocalChange || c.update == ItemChange::Update::kHardLink;
      bool shown = (opt_.itemize > 0 && (sig || hard_link || opt_.itemize > 1)) || (local && sig) || hard_link ||
                   (S_ISDIR(it.mode) && sig);
      if (shown) {
        render_stdout(it, "send");
        if (sig || (log_ && log_->has('i'))) write_log(it, "send");
      }
    }
  }
  l.clear();
}

void ItemOutput::emit_unchanged(const LogItem& it) {
  const ItemChange& c = it.change;
  // A hard link already in place is "uptodate" whatever its attributes (rsync's
  // maybe_hard_link); anything else is named alone when its attributes were set.
  bool attrs_set = c.update == ItemChange::Update::kNoUpdate &&
                   (c.time || c.perms || c.owner || c.group || c.atime || c.acl || c.xattr);
  rep_.line(attrs_set ? it.name : it.name + " is uptodate");
}

uint64_t ItemOutput::sender_bytes(const ItemLine& l) {
  uint64_t size = l.body_->item->length;
  uint64_t ndx_cost = ndx_bytes(static_cast<int64_t>(l.body_->ndx) - prev_ndx_);
  prev_ndx_ = l.body_->ndx;
  // index, item flags (2), checksum header (4 ints), the data in length-prefixed chunks, the
  // end token (4) and the whole-file checksum (16): as rsync's sender writes them.
  return ndx_cost + 2 + 16 + size + 4 * ((size + kTokenChunk - 1) / kTokenChunk) + 4 + 16;
}

void ItemOutput::emit_transfer(ItemLine& l) {
  ItemLine::Body& b = *l.body_;
  LogItem& it = *b.item;
  if (b.sent) {
    it.bytes_written = sender_bytes(l);
    it.bytes_read = 16;
  } else if (opt_.dry_run && it.checksum_state == LogItem::Checksum::kUnknown) {
    it.checksum_state = LogItem::Checksum::kZero;
  }
  if (b.sent || opt_.dry_run) {  // a dry run counts what it would transfer, as rsync's does
    ++transfers_;
    transferred_size_ += it.length;
  }
  uint64_t to_check = totals_.files > b.pos ? totals_.files - b.pos - 1 : 0;
  if (stdout_) {
    if (!late_) {
      if (!b.pre_printed) render_stdout(it, "send");
    } else if (b.sent && info_.progress == 1 && !b.pre_printed) {
      rep_.item_line(it.name);  // with late lines, the name comes before the progress
    }
  }
  if (b.sent && info_.progress == 1 && !b.pre_printed) meter_.file_started(it.length);  // (not live)
  if (b.sent && info_.progress == 1) meter_.file_finished(it.length, transfers_, to_check, totals_.files);
  if (b.sent && info_.progress >= 2) {
    meter_.transfer_line(transferred_size_, totals_.size, transfers_, to_check, totals_.files, true);
  }
  if (late_ && (b.sent || opt_.dry_run)) render_stdout(it, "send");
  if (b.sent && !opt_.dry_run) write_log(it, "send");
}

void ItemOutput::deleted(const std::string& path, bool is_dir) {
  LogItem it;
  it.deleted = true;
  it.name = path;
  it.sender_path = path;
  it.mode = is_dir ? S_IFDIR : S_IFREG;
  it.gid_known = opt_.group;
  if (stdout_ || info_.del > 0) {
    if (stdout_ && (stdout_->has('i') || stdout_->has('o'))) {
      rep_.item_line(stdout_->render(it, "del."));
    } else {
      rep_.item_line("deleting " + path + (is_dir ? "/" : ""));
    }
  }
  if (log_file_ == nullptr || opt_.dry_run || !log_) return;
  if (log_->has('i') || log_->has('o')) {
    log_file_->write(escape_for_log(log_->render(it, "del.")));
  } else {
    log_file_->write(escape_for_log("deleting " + path + (is_dir ? "/" : "")));
  }
}

void ItemOutput::number_top(Entry& entry) {
  if (!numbering_) return;
  if (incremental_) {
    if (segments_ == 0) segments_ = 1;
    entry.list_pos = position_++;
    entry.ndx = entry.list_pos + segments_;
  } else if (!entry.is_dir()) {  // a directory is numbered with its own listing
    entry.list_pos = position_++;
    entry.ndx = entry.list_pos;
  }
}

uint32_t ItemOutput::number_listing(std::vector<Entry>& entries, bool root, bool listed,
                                    const std::function<bool(const Entry&)>& walked) {
  if (!numbering_) return 0;
  // rsync's order inside a directory: non-directories by name, then directories by "name/".
  std::vector<Entry*> order;
  order.reserve(entries.size());
  for (Entry& e : entries) {
    if (!e.is_dir()) order.push_back(&e);
  }
  size_t files = order.size();
  for (Entry& e : entries) {
    if (e.is_dir()) order.push_back(&e);
  }
  std::sort(order.begin() + static_cast<long>(files), order.end(),
            [](const Entry* a, const Entry* b) { return a->name + "/" < b->name + "/"; });
  if (incremental_) {
    // Each directory's entries are one list of their own; the first holds the root ".".
    if (!root || segments_ == 0) ++segments_;
    if (root && listed) ++position_;
    for (Entry* e : order) {
      e->list_pos = position_++;
      e->ndx = e->list_pos + segments_;
    }
    return position_ - 1;
  }
  // One list in path order: the directory itself, its files; each subdirectory is numbered
  // when its own listing comes (right after the subtrees before it). Without -r they stay leaves.
  if (listed) ++position_;
  for (Entry* e : order) {
    if (e->is_dir() && walked(*e)) continue;
    e->list_pos = position_++;
    e->ndx = e->list_pos;
  }
  return position_ - 1;
}

void ItemOutput::listing_done(uint32_t last_pos) {
  if (info_.progress < 2 || !incremental_) return;
  uint64_t to_check = totals_.files > last_pos ? totals_.files - last_pos - 1 : 0;
  meter_.transfer_line(transferred_size_, totals_.size, transfers_, to_check, totals_.files, false);
}

void ItemOutput::transfer_starting(ItemLine& l, uint64_t size) {
  if (!live_ || l.empty() || !l.body_->item) return;
  const LogItem& it = *l.body_->item;
  if (stdout_) rep_.item_line(late_ ? it.name : stdout_->render(it, "send"));
  l.body_->pre_printed = stdout_.has_value();
  meter_.file_started(size);
}

void ItemOutput::data_written(uint64_t bytes) {
  if (info_.progress == 1) {
    if (live_) meter_.file_written(bytes);  // files copied many at a time show when printed
  }
  else if (info_.progress >= 2) meter_.transfer_written(bytes, totals_.size);
}

void ItemOutput::set_checksum(ItemLine& l, const std::array<unsigned char, 16>& sum) {
  if (l.empty() || !l.body_->item) return;
  l.body_->item->checksum = sum;
  l.body_->item->checksum_state = LogItem::Checksum::kKnown;
}

void ItemOutput::begin(bool listing) {
  if (log_file_ != nullptr) log_file_->write("building file list");
  if (info_.flist <= 0) return;
  // rsync says it builds a list only when the list may hold directories' contents (-r, -d;
  // --list-only and --files-from imply -d).
  if (!sends_dirs_ && !listing) return;
  if (incremental_) {  // (a listing too: rsync 3.5.0 says so for --list-only -r)
    rep_.item_line("sending incremental file list");
  } else if (info_.flist == 1) {
    rep_.item_line("building file list ... done");
  } else {
    // rsync counts its list aloud every 100 entries; ringsync has counted it already.
    std::string counting = "building file list ... \n";
    for (uint64_t n = 0; n < totals_.files; n += 100) counting += " " + std::to_string(n) + " files...\r";
    rep_.progress(counting + std::to_string(totals_.files) + " files to consider\n", false);
  }
}

void ItemOutput::transfer_started() {
  if (transfer_started_) return;
  transfer_started_ = true;
  if (!backup_dir_note_.empty()) rep_.line(backup_dir_note_);
  if (info_.debug > 0) rep_.line("delta-transmission disabled for local transfer or --whole-file");
}

void ItemOutput::deleting_in(const std::string& dir) {
  if (info_.debug > 0) rep_.line("deleting in " + dir);
}

void ItemOutput::filter_note(bool generator, bool include, bool is_dir, const std::string& name,
                             const std::string& pattern) {
  const char* action = generator ? (include ? "risking" : "protecting") : (include ? "showing" : "hiding");
  rep_.line(std::string(generator ? "[generator] " : "[sender] ") + action + (is_dir ? " directory " : " file ") +
            name + " because of pattern " + pattern);
}

void ItemOutput::transfer_done() {
  // rsync's sender reports its delta statistics; a local copy sends whole files, so nothing
  // matches and every byte is literal data.
  if (info_.debug > 0) {
    rep_.line("total: matches=0  hash_hits=0  false_alarms=0 data=" + std::to_string(rep_.stats().literal_bytes));
  }
}

// Fitted to rsync 3.5's local runs (short names; 4 to 154 entries, 0 to 150 transfers, dry
// runs too, within 2-20%): its sender sends ~14 bytes of file list per entry, and per file sent
// ~43 bytes besides the data; its generator asks ~19 bytes per file (3 and 3 in a dry run,
// which sends no data).
ItemOutput::Traffic ItemOutput::traffic() const {
  const SyncStats& s = rep_.stats();
  uint64_t list = 64 + 14 * s.files.total();
  if (opt_.dry_run) return {list + 3 * s.transferred, 15 + 3 * s.transferred};
  // (--remove-source-files: rsync's receiver tells the sender of each item in place, 24 bytes.)
  return {list + 43 * s.transferred + s.literal_bytes, 15 + 19 * s.transferred + 24 * s.sender_told};
}

void ItemOutput::end(uint64_t total_size, double seconds) {
  if (info_.progress >= 2 && !incremental_) {
    // One file list: rsync's sender shows the whole transfer once more at the end of each of
    // its three phases.
    for (int phase = 0; phase < 3; ++phase) {
      meter_.transfer_line(transferred_size_, totals_.size, transfers_, 0, totals_.files, false);
    }
  }
  rep_.finish_line();  // progress2 leaves its line open
  auto [sent, received] = traffic();
  if (info_.stats > 0) {
    int human = opt_.no_human_readable ? 0 : std::min(3, 1 + opt_.human_readable);
    double total = static_cast<double>(sent + received);
    char speedup[64];
    std::snprintf(speedup, sizeof speedup, "%.2f", static_cast<double>(total_size) / std::max(total, 1.0));
    rep_.info_text("\nsent " + human_number(sent, human) + " bytes  received " + human_number(received, human) +
                   " bytes  " + human_fraction(total / std::max(seconds, 0.001), human) + " bytes/sec\ntotal size is " + human_number(total_size, human) +
                   "  speedup is " + speedup + (opt_.dry_run ? " (DRY RUN)" : "") + "\n");
  } else if (log_file_ != nullptr) {
    log_file_->write("sent " + std::to_string(sent) + " bytes  received " + std::to_string(received) +
                     " bytes  total size " + std::to_string(total_size));
  }
}

}  // namespace ringkit::sync
