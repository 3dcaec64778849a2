package matchmaking

import (
	"context"
	"crypto/hmac"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"unionhall/internal/apperr"
	"unionhall/internal/core"
	"unionhall/models"
)

// Profile photos are served, like proof files, only through short-lived
// signed links: the link is handed out where the profile itself is shown
// (to the member, and to the checked-in participants of their event during
// its window), so the photo is never readable by anyone the profile is not.

// PhotoPath is the route that serves profile photos.
const PhotoPath = "/files/photo/"

// PhotoLinkTTL is how long a photo link works.
const PhotoLinkTTL = 10 * time.Minute

// MatchPhotoURL is a fresh link to profile p's photo, or nil without one.
// The caller has already been allowed to see p.
func (s *Service) MatchPhotoURL(p *models.MatchProfile) *string {
	if p.PhotoFileID == nil || *p.PhotoFileID == "" {
		return nil
	}
	exp := s.Clock().Now().Add(PhotoLinkTTL).Truncate(time.Second).Unix()
	u := s.PublicURL(PhotoPath + url.PathEscape(*p.PhotoFileID) + "?" + url.Values{
		"exp": {strconv.FormatInt(exp, 10)}, "sig": {s.photoSignature(*p.PhotoFileID, exp)}}.Encode())
	return &u
}

func (s *Service) photoSignature(fileID string, exp int64) string {
	return s.Sealer().Hash(fmt.Sprintf("match-photo\x00%s\x00%d", fileID, exp))
}

// OpenMatchPhoto checks a photo link and opens the photo, which must be a
// PHOTO upload some profile uses. Codes: FORBIDDEN (bad or expired link),
// NOT_FOUND.
func (s *Service) OpenMatchPhoto(ctx context.Context, fileID, exp, sig string) (*models.UploadedFile, io.ReadCloser, error) {
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !hmac.Equal([]byte(sig), []byte(s.photoSignature(fileID, e))) || !s.Clock().Now().Before(time.Unix(e, 0)) {
		return nil, nil, core.ErrSignedLink
	}
	var f models.UploadedFile
	err = s.Q(ctx).Where("id = ? AND purpose = ?", fileID, core.PurposePhoto).
		Where("EXISTS (SELECT 1 FROM match_profiles WHERE match_profiles.photo_file_id = uploaded_files.id)").Take(&f).Error
	if err != nil {
		return nil, nil, apperr.New(apperr.NotFound, "照片不存在")
	}
	r, err := s.Files().Open(ctx, f.ID)
	if err != nil {
		return nil, nil, err
	}
	return &f, r, nil
}
