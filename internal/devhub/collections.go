package devhub

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

type collection struct {
	ObjID, Slug, Title, Description, Owner string
	Private                                bool
	Items                                  []*collectionItem
	Updated                                time.Time
}

type collectionItem struct {
	ObjID, ID, Type string
	Note            string
}

func slugify(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

func (h *Hub) collectionJSON(c *call, col *collection, maxItems int) map[string]any {
	items := []map[string]any{}
	for i, it := range col.Items {
		if maxItems > 0 && i >= maxItems {
			break
		}
		m := map[string]any{"_id": it.ObjID, "id": it.ID, "type": it.Type, "position": i}
		if it.Type == "model" || it.Type == "dataset" || it.Type == "space" {
			m["author"], _, _ = strings.Cut(it.ID, "/")
			m["repoType"] = it.Type
		}
		if it.Note != "" {
			m["note"] = map[string]any{"text": it.Note, "html": it.Note}
		}
		items = append(items, m)
	}
	out := map[string]any{
		"slug": col.Slug, "title": col.Title, "owner": map[string]any{"name": col.Owner, "type": "user"},
		"items": items, "lastUpdated": iso(col.Updated), "position": 0, "private": col.Private,
		"theme": "default", "upvotes": 0, "isUpvotedByUser": false, "gating": false,
		"shareUrl": c.baseURL() + "/collections/" + col.Slug,
	}
	if col.Description != "" {
		out["description"] = col.Description
	}
	return out
}

func (h *Hub) canReadCollectionLocked(c *call, col *collection) bool {
	return !col.Private || c.caller.tok.allows(false, col.Owner, "*")
}

func (h *Hub) listCollections(c *call) error {
	q := c.r.URL.Query()
	owners := append(q["owner"], q["owner[]"]...)
	items := append(q["item"], q["item[]"]...)
	search := strings.ToLower(q.Get("q"))
	pageSize := h.pageSize
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return badRequest("Invalid limit %q", l)
		}
		pageSize = min(pageSize, n)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var matched []*collection
	for _, col := range h.collections {
		if !h.canReadCollectionLocked(c, col) {
			continue
		}
		if len(owners) > 0 && !contains(owners, col.Owner) {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(col.Title), search) {
			continue
		}
		if len(items) > 0 {
			found := false
			for _, it := range col.Items {
				if contains(items, it.Type+"s/"+it.ID) {
					found = true
				}
			}
			if !found {
				continue
			}
		}
		matched = append(matched, col)
	}
	start := 0
	if cur := q.Get("cursor"); cur != "" {
		n, err := strconv.Atoi(cur)
		if err != nil || n < 0 || n > len(matched) {
			return badRequest("Invalid cursor %q", cur)
		}
		start = n
	}
	end := min(start+pageSize, len(matched))
	out := []map[string]any{}
	for _, col := range matched[start:end] {
		out = append(out, h.collectionJSON(c, col, 4))
	}
	if end < len(matched) {
		setNextLink(c, q, strconv.Itoa(end))
	}
	writeJSON(c.w, 200, out)
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (h *Hub) createCollection(c *call) error {
	var req struct {
		Title       string `json:"title"`
		Namespace   string `json:"namespace"`
		Description string `json:"description"`
		Private     bool   `json:"private"`
	}
	if err := decodeJSON(c.r, &req, 1<<20); err != nil {
		return err
	}
	if c.caller.anonymous() {
		return errUnauthorized("You must be authenticated to create a collection.")
	}
	ns := req.Namespace
	if ns == "" {
		ns = c.caller.tok.user()
	}
	if strings.TrimSpace(req.Title) == "" || slugify(req.Title) == "" {
		return badRequest("A collection needs a title")
	}
	if !c.caller.tok.allows(true, ns, "*") {
		return errForbidden(fmt.Sprintf("You don't have the rights to create a collection under the namespace %q", ns))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, col := range h.collections {
		if col.Owner == ns && col.Title == req.Title {
			return errConflict("You already have a collection with this title", map[string]any{"slug": col.Slug})
		}
	}
	id := randHex(12)
	col := &collection{ObjID: id, Slug: ns + "/" + slugify(req.Title) + "-" + id, Title: req.Title,
		Description: req.Description, Owner: ns, Private: req.Private, Updated: time.Now().UTC()}
	h.collections = append(h.collections, col)
	writeJSON(c.w, 200, h.collectionJSON(c, col, 0))
	return nil
}

// findCollectionLocked returns the collection named by the route's slug.
func (h *Hub) findCollectionLocked(c *call, write bool) (int, *collection, *hubError) {
	slug := c.params[0] + "/" + c.params[1]
	for i, col := range h.collections {
		if col.Slug != slug || !h.canReadCollectionLocked(c, col) {
			continue
		}
		if write {
			if c.caller.anonymous() {
				return 0, nil, errUnauthorized("You must be authenticated to change a collection.")
			}
			if !c.caller.tok.allows(true, col.Owner, "*") {
				return 0, nil, errForbidden("You don't have the rights to change the collection " + slug)
			}
		}
		return i, col, nil
	}
	return 0, nil, errNotFound("Collection not found")
}

func (h *Hub) getCollection(c *call) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, col, herr := h.findCollectionLocked(c, false)
	if herr != nil {
		return herr
	}
	writeJSON(c.w, 200, h.collectionJSON(c, col, 0))
	return nil
}

func (h *Hub) deleteCollection(c *call) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	i, _, herr := h.findCollectionLocked(c, true)
	if herr != nil {
		return herr
	}
	h.collections = append(h.collections[:i:i], h.collections[i+1:]...)
	writeJSON(c.w, 200, map[string]any{"success": true})
	return nil
}

func (h *Hub) addCollectionItem(c *call) error {
	var req struct {
		Item struct{ Type, ID string } `json:"item"`
		Note string                    `json:"note"`
	}
	if err := decodeJSON(c.r, &req, 1<<20); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, col, herr := h.findCollectionLocked(c, true)
	if herr != nil {
		return herr
	}
	switch req.Item.Type {
	case "model", "dataset", "space":
		ns, name, _ := strings.Cut(req.Item.ID, "/")
		if _, herr := h.readRepoLocked(c.caller, req.Item.Type, ns, name); herr != nil {
			return herr
		}
	case "paper", "collection", "bucket":
	default:
		return badRequest("Invalid item type %q", req.Item.Type)
	}
	for _, it := range col.Items {
		if it.Type == req.Item.Type && it.ID == req.Item.ID {
			return errConflict("Item already in collection", map[string]any{"slug": col.Slug})
		}
	}
	col.Items = append(col.Items, &collectionItem{ObjID: randHex(12), ID: req.Item.ID, Type: req.Item.Type, Note: req.Note})
	col.Updated = time.Now().UTC()
	writeJSON(c.w, 200, h.collectionJSON(c, col, 0))
	return nil
}

func (h *Hub) deleteCollectionItem(c *call) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, col, herr := h.findCollectionLocked(c, true)
	if herr != nil {
		return herr
	}
	itemID := c.params[3]
	for i, it := range col.Items {
		if it.ObjID == itemID {
			col.Items = append(col.Items[:i:i], col.Items[i+1:]...)
			col.Updated = time.Now().UTC()
			writeJSON(c.w, 200, h.collectionJSON(c, col, 0))
			return nil
		}
	}
	return errNotFound("Item not found in collection")
}
