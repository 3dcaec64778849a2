package matchmaking

import (
	"context"
	"crypto/hmac"
	"fmt"
	"io"
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
// The caller has already been allowed to see p. The link needs only the
// id: an object store serves the type and name the server stored the
// photo with, so a list of profiles costs no query for its photos.
// Codes: INTERNAL (file store down).
func (s *Service) MatchPhotoURL(ctx context.Context, p *models.MatchProfile) (*string, error) {
	if p.PhotoFileID == nil || *p.PhotoFileID == "" {
		return nil, nil
	}
	u, _, err := s.FileLink(ctx, &models.UploadedFile{ID: *p.PhotoFileID}, PhotoPath, PhotoLinkTTL, s.photoSignature)
	if err != nil {
		return nil, err
	}
	return &u, nil
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
	err = s.Q(ctx).Where("id = ? AND purpose = ? AND stored_at IS NOT NULL", fileID, core.PurposePhoto).
		Where("EXISTS (SELECT 1 FROM match_profiles WHERE match_profiles.photo_file_id = uploaded_files.id)").Take(&f).Error
	if err != nil {
		return nil, nil, apperr.New(apperr.NotFound, "照片不存在")
	}
	r, err := s.OpenFile(ctx, &f)
	if err != nil {
		return nil, nil, err
	}
	return &f, r, nil
}
